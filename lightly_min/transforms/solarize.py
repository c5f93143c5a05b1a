"""Random solarization (BYOL, Grill et al., 2020, arXiv:2006.07733, App. B)."""

from __future__ import annotations

import torchvision.transforms as T


class RandomSolarization(T.RandomSolarize):
    """Inverts all pixel values at or above ``threshold``, with probability ``prob``.

    torchvision's ``RandomSolarize`` with lightly's argument names. The threshold is on the
    image's own scale: 0-255 for PIL images and uint8 tensors, 0-1 for float tensors.
    """

    def __init__(self, prob: float = 0.5, threshold: float = 128) -> None:
        super().__init__(threshold=threshold, p=prob)
