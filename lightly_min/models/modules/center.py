"""A running mean with momentum: DINO's center (Caron et al., 2021, arXiv:2104.14294, Sec. 3.1)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from lightly_min.utils import dist as lm_dist


@torch.no_grad()
def center_mean(x: torch.Tensor, dim: tuple[int, ...]) -> torch.Tensor:
    """The mean of ``x`` over the dimensions ``dim`` (kept, of size 1), over the samples of
    every process when ``torch.distributed`` runs: each process's mean, averaged over the
    processes (every process must hold as many samples)."""
    mean = x.mean(dim=dim, keepdim=True)
    if lm_dist.is_initialized() and lm_dist.world_size() > 1:
        dist.all_reduce(mean)
        mean = mean / lm_dist.world_size()
    return mean


CENTER_MODE_TO_FUNCTION = {"mean": center_mean}


class Center(nn.Module):
    """A center ``c``, updated with momentum ``m`` from each batch ``x``::

        c <- m * c + (1 - m) * mean(x)

    the mean taken over the dimensions where ``size`` is 1, and over all processes under
    ``torch.distributed`` (so the center is the same on every process, and equals that of one
    process with the whole batch). DINO subtracts it from the teacher's outputs before the
    softmax, so that no dimension dominates: centring alone leads to a uniform output, the
    sharpening of a low temperature to one dominant dimension; together they avoid both
    (Sec. 3.1 and 5.3).

    Args:
        size: The center's shape, e.g. ``(1, 1, D)`` for outputs ``(views, batch, D)``.
        mode: How to take the batch's center; only ``"mean"``.
        momentum: ``m`` above, in [0, 1]; DINO uses 0.9.
    """

    def __init__(self, size: Sequence[int], mode: str = "mean", momentum: float = 0.9) -> None:
        super().__init__()
        if mode not in CENTER_MODE_TO_FUNCTION:
            raise ValueError(
                f"Unknown center mode {mode!r}: choose one of {sorted(CENTER_MODE_TO_FUNCTION)}."
            )
        self.size, self.momentum = tuple(size), momentum
        self.center_fn = CENTER_MODE_TO_FUNCTION[mode]
        self.dim = tuple(i for i, s in enumerate(self.size) if s == 1)
        self.register_buffer("center", torch.zeros(self.size))

    @property
    def value(self) -> torch.Tensor:
        """The current center, of shape ``size``."""
        return self.center

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Moves the center towards the mean of ``x`` (same number of dimensions as ``size``)."""
        batch_center = self.center_fn(x, self.dim)
        self.center.mul_(self.momentum).add_(batch_center, alpha=1 - self.momentum)
