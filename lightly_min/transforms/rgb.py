"""Turn any supported image into an RGB PIL image, the input of every view transform."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image


class ToRGB:
    """Converts an image to an RGB PIL image.

    Accepts a PIL image of any mode (grayscale, palette, RGBA, ...), an image tensor ``(C, H, W)``
    or ``(H, W)`` with 1, 3 or 4 channels (uint8, or float in [0, 1]), or a numpy array
    ``(H, W)`` or ``(H, W, C)``. Grayscale becomes three equal channels; alpha is dropped.
    """

    def __call__(self, image: Any) -> Image.Image:
        if isinstance(image, Image.Image):
            return image if image.mode == "RGB" else image.convert("RGB")
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
