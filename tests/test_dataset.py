import numpy as np
import pytest
import torch
from PIL import Image

from lightly_min.data import LightlyDataset
from lightly_min.data.dataset import skip_unreadable
from lightly_min.errors import InputError
from lightly_min.transforms.rgb import pil_to_rgb


def write_image(path, mode="RGB", size=(10, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)


def test_nested_folders_give_labels_by_subfolder(tmp_path):
    write_image(tmp_path / "cats" / "a.png")
    write_image(tmp_path / "cats" / "deep" / "b.JPG", mode="L")
    write_image(tmp_path / "dogs" / "c.jpeg")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    dataset = LightlyDataset(tmp_path)
    assert dataset.classes == ["cats", "dogs"]
    items = [dataset[i] for i in range(len(dataset))]
    assert [(label, name) for _, label, name in items] == [
        (0, "cats/a.png"), (0, "cats/deep/b.JPG"), (1, "dogs/c.jpeg"),
    ]  # fmt: skip
    assert all(image.mode == "RGB" and image.size == (10, 8) for image, _, _ in items)


def test_flat_folder_is_unlabelled_and_transform_is_applied(tmp_path):
    write_image(tmp_path / "x.png")
    write_image(tmp_path / "y.bmp")
    dataset = LightlyDataset(tmp_path, transform=lambda image: image.size)
    assert [dataset[i] for i in range(2)] == [((10, 8), 0, "x.png"), ((10, 8), 0, "y.bmp")]


def test_missing_empty_or_imageless_folders_and_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="nope does not exist"):
        LightlyDataset(tmp_path / "nope")
    with pytest.raises(InputError, match="no images .no files at all"):
        LightlyDataset(tmp_path)
    (tmp_path / "a.txt").write_text("")
    with pytest.raises(InputError, match="1 files, none of them an image"):
        LightlyDataset(tmp_path)
    with pytest.raises(InputError, match="a.txt is a file, not a folder"):
        LightlyDataset(tmp_path / "a.txt")


def test_an_unreadable_image_is_skipped_never_replaced(tmp_path):
    write_image(tmp_path / "a" / "0.png")
    (tmp_path / "a" / "1_broken.png").write_bytes(b"not really a png")
    (tmp_path / "a" / "2_empty.jpg").write_bytes(b"")
    write_image(tmp_path / "b" / "3.png", mode="L")
    with pytest.warns(UserWarning, match="skipping .*1_broken.png, which cannot be read"):
        dataset = LightlyDataset(tmp_path)
    assert [str(f) for f in dataset.files] == ["a/0.png", "b/3.png"]
    assert [(label, name) for _, label, name in dataset] == [(0, "a/0.png"), (1, "b/3.png")]
    assert sorted(str(f) for f in dataset.skipped) == ["a/1_broken.png", "a/2_empty.jpg"]


def test_an_image_broken_past_its_header_is_left_out_of_its_batch(tmp_path):
    for name in ("0.jpg", "1.jpg", "2.jpg"):
        write_image(tmp_path / name, size=(64, 64))
    whole = (tmp_path / "1.jpg").read_bytes()
    (tmp_path / "1.jpg").write_bytes(whole[: len(whole) // 2])  # the header reads, pixels don't
    dataset = LightlyDataset(tmp_path, transform=lambda image: torch.zeros(1))
    assert len(dataset) == 3
    with pytest.warns(UserWarning, match="skipping .*1.jpg"):
        batch = skip_unreadable([dataset[i] for i in range(3)])
    assert list(batch[2]) == ["0.jpg", "2.jpg"] and batch[0].shape == (2, 1)


def test_what_archivers_add_is_not_data(tmp_path):
    """A folder unpacked from a macOS zip: __MACOSX/, AppleDouble ._* files and .DS_Store are
    neither images nor classes."""
    write_image(tmp_path / "cats" / "a.png")
    write_image(tmp_path / "dogs" / "b.png")
    (tmp_path / "cats" / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / ".DS_Store").write_bytes(b"Bud1")
    write_image(tmp_path / "__MACOSX" / "cats" / "a.png")
    write_image(tmp_path / ".hidden" / "c.png")
    dataset = LightlyDataset(tmp_path)
    assert dataset.classes == ["cats", "dogs"] and dataset.is_labelled
    assert [str(f) for f in dataset.files] == ["cats/a.png", "dogs/b.png"]


def test_class_folders_that_are_links_are_read(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_image(elsewhere / "cats" / "a.png")
    write_image(elsewhere / "dogs" / "b.png")
    data = tmp_path / "data"
    data.mkdir()
    for name in ("cats", "dogs"):
        (data / name).symlink_to(elsewhere / name, target_is_directory=True)
    (data / "dogs" / "loop").symlink_to(data, target_is_directory=True)  # a cycle: read once
    dataset = LightlyDataset(data)
    assert dataset.classes == ["cats", "dogs"]
    assert [str(f) for f in dataset.files] == ["cats/a.png", "dogs/b.png"]


def test_a_folder_of_only_unreadable_images_fails_at_once(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not really a png")
    with pytest.warns(UserWarning), pytest.raises(InputError, match="None of the 1 image files"):
        LightlyDataset(tmp_path)


def test_labelled_means_every_image_in_one_of_two_or_more_class_folders(tmp_path):
    write_image(tmp_path / "a" / "0.png")
    assert not LightlyDataset(tmp_path).is_labelled  # one class
    write_image(tmp_path / "b" / "1.png")
    assert LightlyDataset(tmp_path).is_labelled
    write_image(tmp_path / "2.png")
    assert not LightlyDataset(tmp_path).is_labelled  # an image outside the classes


def test_16_bit_grey_is_scaled_to_8_bits_not_clipped():
    levels = np.array([[0, 257, 25700, 65535]], dtype=np.uint16)  # 257 * (0, 1, 100, 255)
    rgb = np.asarray(pil_to_rgb(Image.fromarray(levels)))
    assert rgb.shape == (1, 4, 3) and rgb[0, :, 0].tolist() == [0, 1, 100, 255]
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
