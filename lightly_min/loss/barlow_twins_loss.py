"""Barlow Twins' redundancy-reduction loss (Zbontar et al., 2021, arXiv:2103.03230, Eq. 1-2)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from lightly_min.utils import dist as lm_dist


class BarlowTwinsLoss(nn.Module):
    """Pushes the cross-correlation of two views' embeddings towards the identity matrix.

    Each embedding dimension is standardised over the batch (mean 0, variance 1; the biased
    variance plus ``eps = 1e-5``, as ``BatchNorm1d`` without affine parameters computes it), and
    ``C = z_a^T z_b / N`` is the ``(D, D)`` cross-correlation of the standardised views. Then::

        L = sum_i (1 - C_ii)^2  +  lambda_param * sum_i sum_{j != i} C_ij^2

    The first term makes each dimension invariant to the augmentations, the second decorrelates
    different dimensions, so that they carry different information. The loss grows with ``D``:
    with ``N < D`` the off-diagonal sum cannot fall below about ``D^2 / N - D`` (``C`` has rank at
    most ``N``), so compare runs of different widths by the two terms per entry.

    With ``gather_distributed=True`` and several processes, every process gathers the embeddings
    of all processes (with gradients, :func:`lightly_min.utils.dist.gather`) before standardising
    them, so the statistics and ``C`` are those of the global batch: with the gradient averaging
    of DistributedDataParallel, ``W`` processes of batch ``N`` give the loss and gradients of one
    process with batch ``W * N``. Each process then computes the whole ``(D, D)`` matrix of the
    global batch. Without gathering, each process standardises and correlates its own batch, a
    noisier estimate of the same matrix (see the Barlow Twins page). Every process must use the
    same batch size (``drop_last=True``).

    Args:
        lambda_param: Weight of the off-diagonal (redundancy) term; the paper uses 5e-3 with an
            8192-wide projector (its code: 0.0051).
        gather_distributed: Whether to compute ``C`` over the batches of all processes.

    Shapes:
        ``z_a``, ``z_b``: ``(N, D)``; the result is a scalar.
    """

    def __init__(self, lambda_param: float = 5e-3, gather_distributed: bool = False) -> None:
        super().__init__()
        if not lambda_param >= 0:
            raise ValueError(
                f"BarlowTwinsLoss needs lambda_param >= 0, got {lambda_param}. "
                "The paper uses 5e-3 for an 8192-wide projector."
            )
        if gather_distributed and not dist.is_available():
            raise ValueError(
                "BarlowTwinsLoss(gather_distributed=True) needs torch.distributed, which this "
                "PyTorch build does not provide. Use gather_distributed=False, or a PyTorch build "
                "with distributed support."
            )
        self.lambda_param = lambda_param
        self.gather_distributed = gather_distributed
        self.eps = 1e-5

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        if z_a.dim() != 2 or z_a.shape != z_b.shape:
            raise ValueError(
                "BarlowTwinsLoss needs two views as tensors of the same shape (batch, features), "
                f"got {tuple(z_a.shape)} and {tuple(z_b.shape)}. Pass the projections of both "
                "views of the same batch of images."
            )
        # In float32 even under autocast: C sums N products per entry.
        with torch.autocast(device_type=z_a.device.type, enabled=False):
            dtype = torch.promote_types(z_a.dtype, torch.float32)
            z_a, z_b = z_a.to(dtype), z_b.to(dtype)
            if self.gather_distributed and lm_dist.world_size() > 1:
                z_a, z_b = torch.cat(lm_dist.gather(z_a)), torch.cat(lm_dist.gather(z_b))
            n = z_a.shape[0]
            if n < 2:
                raise ValueError(
                    "BarlowTwinsLoss standardises each feature over the batch and needs at least "
                    "2 samples, got 1. Use a larger batch (and drop_last=True in the DataLoader)."
                )
            c = self._standardise(z_a).T @ self._standardise(z_b) / n  # (D, D)
            on_diagonal = (torch.diagonal(c) - 1).pow(2).sum()
            off_diagonal = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
            return on_diagonal + self.lambda_param * off_diagonal

    def _standardise(self, z: torch.Tensor) -> torch.Tensor:
        """``(z - mean) / sqrt(var + eps)`` per feature over the batch, biased variance."""
        mean = z.mean(dim=0)
        var = z.var(dim=0, unbiased=False)
        return (z - mean) / torch.sqrt(var + self.eps)
