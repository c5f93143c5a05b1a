import numpy as np
import pytest
from PIL import Image
from torch.utils.data import Subset

from lightly_min.errors import InputError
from lightly_min.harness.data import HOLDOUT_FRACTION, load_training_data


def identity(image):
    return image


def write_class(folder, count):
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((4, 4, 3), i, dtype=np.uint8)).save(folder / f"{i}.png")


def load(**kwargs):
    return load_training_data(identity, identity, **kwargs)


def test_a_labelled_folder_holds_out_a_tenth_of_each_class(tmp_path):
    write_class(tmp_path / "a", 20)  # holds out round(0.1 * 20) = 2
    write_class(tmp_path / "b", 7)  # holds out round(0.7) = 1
    write_class(tmp_path / "c", 1)  # a single image cannot be split: it stays for training
    assert HOLDOUT_FRACTION == 0.1
    data = load(data_dir=tmp_path, seed=3)
    assert isinstance(data.train, Subset) and len(data.train) == len(data.bank) == 25
    assert len(data.test) == 3
    test_labels = sorted(data.test[i][1] for i in range(len(data.test)))
    assert test_labels == [0, 0, 1]
    train_files = {data.train[i][2] for i in range(len(data.train))}
    test_files = {data.test[i][2] for i in range(len(data.test))}
    assert not train_files & test_files and len(train_files | test_files) == 28
    assert "25 images for training, 3 classes (a, b, c); 3 held out" in data.description
    again = load(data_dir=tmp_path, seed=3)
    assert {again.test[i][2] for i in range(3)} == test_files  # the seed fixes the split


def test_an_unlabelled_folder_trains_on_everything_and_says_why_it_does_not_evaluate(tmp_path):
    write_class(tmp_path / "a", 3)
    write_class(tmp_path / "b", 2)
    Image.new("RGB", (4, 4)).save(tmp_path / "top.png")  # one image outside the classes
    data = load(data_dir=tmp_path)
    assert len(data.train) == 6 and data.bank is None and data.test is None
    assert "unlabelled; no evaluation" in data.description


def test_a_test_dir_is_the_held_out_set(tmp_path):
    for name, count in (("a", 4), ("b", 3)):
        write_class(tmp_path / "train" / name, count)
        write_class(tmp_path / "test" / name, 2)
    data = load(data_dir=tmp_path / "train", test_dir=tmp_path / "test")
    assert len(data.train) == len(data.bank) == 7 and len(data.test) == 4
    assert "evaluation on the 4 images of" in data.description


def test_fake_data_has_distinct_held_out_images(tmp_path):
    data = load(fake_data=6, image_size=8)
    assert len(data.train) == len(data.bank) == len(data.test) == 6
    assert data.bank[0][0].size == (8, 8)
    assert data.bank[0][0].tobytes() != data.test[0][0].tobytes()


def test_bad_combinations_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="--test-dir needs --data-dir"):
        load(test_dir=tmp_path)
    write_class(tmp_path / "flat", 2)
    write_class(tmp_path / "test" / "a", 2)
    write_class(tmp_path / "test" / "b", 2)
    with pytest.raises(InputError, match="flat has no class subfolders"):
        load(data_dir=tmp_path / "flat", test_dir=tmp_path / "test")
