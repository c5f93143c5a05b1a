"""Negative cosine similarity, SimSiam's loss (Chen & He, 2020, arXiv:2011.10566, Eq. 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NegativeCosineSimilarity(nn.Module):
    """``D(x0, x1) = -mean_i cos(x0_i, x1_i)``, with ``cos(a, b) = a.b / max(|a| |b|, eps)``.

    In SimSiam, ``x0`` is a prediction ``p`` and ``x1`` a projection ``z`` with its gradient
    stopped (``z.detach()``): the stop-gradient is what keeps SimSiam from collapsing. The loss
    lies in ``[-1, 1]``; -1 means the two agree in direction for every sample.

    Args:
        dim: The dimension along which the cosine similarity is computed.
        eps: Lower bound on the product of the norms, to avoid dividing by zero.

    Shapes:
        ``x0``, ``x1``: ``(N, D)`` (or any equal shapes); the result is a scalar.
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if x0.shape != x1.shape:
            raise ValueError(
                f"NegativeCosineSimilarity needs two tensors of the same shape, got "
                f"{tuple(x0.shape)} and {tuple(x1.shape)}. Pass the prediction of one view and "
                "the projection of the other, both from heads with the same output_dim."
            )
        return -F.cosine_similarity(x0, x1, dim=self.dim, eps=self.eps).mean()
