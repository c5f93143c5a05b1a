"""Features of a frozen backbone, computed the way every evaluation needs them."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from lightly_min.progress import progress_bar


@torch.no_grad()
def embed(
    backbone: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    desc: str = "embed",
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(N, D)`` (float32, as the backbone gives them) and labels ``(N,)`` of every
    image in ``loader``, which yields ``(images, labels, ...)`` with images ``(B, C, H, W)``.

    The backbone runs in eval mode, without gradients, and gets its mode back afterwards: a
    BatchNorm layer normalises with its running statistics and does not update them, so each
    feature depends on its own image only (not on the others in its batch), and the backbone
    is left exactly as it was. ``device`` defaults to the device of the backbone's parameters.
    """
    if device is None:
        device = next(backbone.parameters(), torch.empty(0)).device
    features, labels = [], []
    was_training = backbone.training
    backbone.eval()
    try:
        for images, targets, *_ in progress_bar(loader, desc=desc, disable=not progress):
            if not isinstance(images, torch.Tensor):
                raise TypeError(
                    "Evaluation needs batches of single images (B, C, H, W), got "
                    f"{type(images).__name__}. Give its DataLoaders a plain transform (e.g. "
                    "ToTensor and Normalize), not a multi-view transform."
                )
            output = backbone(images.to(device)).flatten(start_dim=1)
            features.append(output.float())
            labels.append(torch.as_tensor(targets).to(device))
    finally:
        backbone.train(was_training)
    return torch.cat(features), torch.cat(labels)
