"""Turn any supported image into an RGB PIL image, the input of every view transform."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

#: PIL modes of one channel wider than 8 bits (16-bit PNG and TIFF open as "I;16" or "I").
WIDE_GREY_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def pil_to_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of a PIL image of any mode (the image itself if it is RGB already).

    Grey becomes three equal channels, alpha is dropped, palettes are looked up. 16-bit grey
    levels are scaled to 8 bits (``value / 257``); PIL's own conversion would clip them at 255.
    """
    if image.mode == "RGB":
        return image
    if image.mode in WIDE_GREY_MODES:
        levels = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(levels.round().clip(0, 255).astype(np.uint8))
    elif image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # PIL warns when a palette with transparency goes to RGB
    return image.convert("RGB")


class ToRGB:
    """Converts an image to an RGB PIL image.

    Accepts a PIL image of any mode (grayscale, 16-bit grayscale, palette, RGBA, ...), an image
    tensor ``(C, H, W)`` or ``(H, W)`` with 1, 3 or 4 channels (uint8, or float in [0, 1]), or a
    numpy array ``(H, W)`` or ``(H, W, C)``. Grayscale becomes three equal channels; alpha is
    dropped. See :func:`pil_to_rgb`.
    """

    def __repr__(self) -> str:
        return "ToRGB()"

    def __call__(self, image: Any) -> Image.Image:
        if isinstance(image, Image.Image):
            return pil_to_rgb(image)
        if isinstance(image, torch.Tensor | np.ndarray):
            channels_last = isinstance(image, np.ndarray)
            shape = tuple(image.shape)
            channels = 1 if len(shape) == 2 else shape[-1 if channels_last else 0]
            if len(shape) not in (2, 3) or channels not in (1, 3, 4):
                layout = "(H, W[, C])" if channels_last else "(C, H, W)"
                raise ValueError(
                    f"Expected one image of shape {layout} with 1, 3 or 4 channels, got shape "
                    f"{shape}. Transforms take one image at a time: apply them in the Dataset, "
                    "not to a batch."
                )
            return TF.to_pil_image(image).convert("RGB")
        raise TypeError(
            "lightly_min transforms take a PIL image, an image tensor (C, H, W) or a numpy array "
            f"(H, W[, C]); got {type(image).__module__}.{type(image).__qualname__}. Load files "
            "with PIL.Image.open(path) or torchvision.io.decode_image(path)."
        )
