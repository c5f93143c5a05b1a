import numpy as np
import pytest
from PIL import Image

from lightly_min.data import LightlyDataset


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


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        LightlyDataset(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no images in"):
        LightlyDataset(tmp_path)


def test_unreadable_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(RuntimeError, match="cannot read image .*broken.png"):
        LightlyDataset(tmp_path)[0]
