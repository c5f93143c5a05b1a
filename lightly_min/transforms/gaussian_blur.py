"""Random Gaussian blur with a random radius, as in SimCLR (Chen et al., 2020, App. A)."""

from __future__ import annotations

import math

import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageFilter


class GaussianBlur:
    """Blurs an image with probability ``prob``, with ``sigma ~ U(sigmas)``.

    PIL images go through PIL's ``GaussianBlur(radius=sigma)``; tensors through torchvision's
    ``gaussian_blur`` with a kernel of ``2 * ceil(3 * sigma) + 1`` pixels. Randomness comes from
    torch's generator, so ``torch.manual_seed`` makes it reproducible.

    Args:
        prob: Probability of blurring.
        sigmas: Range ``(low, high)`` of the standard deviation, in pixels.
    """

    def __init__(self, prob: float = 0.5, sigmas: tuple[float, float] = (0.2, 2.0)) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"GaussianBlur needs 0 <= prob <= 1, got {prob}.")
        if not 0.0 < sigmas[0] <= sigmas[1]:
            raise ValueError(
                f"GaussianBlur needs sigmas (low, high) with 0 < low <= high, got {sigmas}."
            )
        self.prob = prob
        self.sigmas = sigmas

    def __repr__(self) -> str:
        return f"GaussianBlur(prob={self.prob}, sigmas={self.sigmas})"

    def __call__(self, image: Image.Image | torch.Tensor) -> Image.Image | torch.Tensor:
        if torch.rand(1).item() >= self.prob:
            return image
        sigma = torch.empty(1).uniform_(self.sigmas[0], self.sigmas[1]).item()
        if isinstance(image, torch.Tensor):
            return TF.gaussian_blur(image, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)
        return image.filter(ImageFilter.GaussianBlur(radius=sigma))
