"""VICReg's variance-invariance-covariance loss (Bardes et al., 2022, arXiv:2105.04906, Sec. 3)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from lightly_min.utils import dist as lm_dist


def invariance_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean squared difference of two views' embeddings, over all entries.

    ``s(Z, Z') = mean_{i, j} (z_ij - z'_ij)^2``; shapes ``(N, ..., D)``; a scalar.
    """
    return F.mse_loss(x, y)


def variance_loss(x: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """The hinge on each feature's standard deviation over the batch.

    ``v(Z) = mean_j max(0, 1 - sqrt(Var(z^j) + eps))`` with the unbiased variance over the batch
    (dim 0); shape ``(N, ..., D)``; a scalar. It is 0 once every feature varies with a standard
    deviation of at least 1, and ``1 - sqrt(eps)`` for a constant feature.
    """
    std = torch.sqrt(x.var(dim=0) + eps)
    return F.relu(1.0 - std).mean()


def covariance_loss(x: torch.Tensor) -> torch.Tensor:
    """The squared off-diagonal entries of the features' covariance over the batch, per feature.

    ``c(Z) = sum_{i != j} Cov(Z)_ij^2 / D`` with ``Cov(Z) = (Z - mean)^T (Z - mean) / (N - 1)``;
    shape ``(N, ..., D)``, averaged over the middle dimensions; a scalar.
    """
    n, d = x.shape[0], x.shape[-1]
    x = x - x.mean(dim=0)
    cov = torch.einsum("n...i,n...j->...ij", x, x) / (n - 1)  # (..., D, D)
    diagonal = torch.diagonal(cov, dim1=-2, dim2=-1)
    off_diagonal = cov.pow(2).sum(dim=(-2, -1)) - diagonal.pow(2).sum(dim=-1)
    return (off_diagonal / d).mean()


class VICRegLoss(nn.Module):
    """Keeps two views' embeddings close while each feature varies and features decorrelate.

    For embeddings ``z_a, z_b`` of two views of ``N`` images::

        L = lambda_param * s(z_a, z_b)
          + mu_param * (v(z_a) + v(z_b)) / 2
          + nu_param * (c(z_a) + c(z_b))

    with ``s``, ``v`` and ``c`` as in :func:`invariance_loss`, :func:`variance_loss` (hinge at
    a standard deviation of 1) and :func:`covariance_loss`. As in the paper's code and lightly,
    the variance terms of the two views are averaged (the paper's equation adds them) and ``s``
    is a mean over features too. A constant embedding costs ``mu_param * (1 - sqrt(eps))``
    (24.75 with the defaults): a loss stuck there is collapse.

    With ``gather_distributed=True`` and several processes, the variance and covariance come from
    the embeddings of all processes (gathered with gradients, see
    :func:`lightly_min.utils.dist.gather`), the invariance from each process's own pairs. With the
    gradient averaging of DistributedDataParallel, the mean of the processes' losses and the
    gradients then equal those of one process with the whole batch. Without gathering, each
    process estimates variance and covariance from its own batch: a different, noisier objective.
    Every process must use the same batch size (``drop_last=True``).

    Args:
        lambda_param: Weight of the invariance term, 25 in the paper.
        mu_param: Weight of the variance term, 25 in the paper.
        nu_param: Weight of the covariance term, 1 in the paper.
        gather_distributed: Whether to take variance and covariance over all processes' batches.
        eps: Added to the variance before the square root, for a finite gradient at 0.

    Shapes:
        ``z_a``, ``z_b``: ``(N, D)``, or ``(N, ..., D)`` with the terms averaged over the middle
        dimensions; the result is a scalar.
    """

    def __init__(
        self,
        lambda_param: float = 25.0,
        mu_param: float = 25.0,
        nu_param: float = 1.0,
        gather_distributed: bool = False,
        eps: float = 0.0001,
    ) -> None:
        super().__init__()
        if gather_distributed and not dist.is_available():
            raise ValueError(
                "VICRegLoss(gather_distributed=True) needs torch.distributed, which this PyTorch "
                "build does not provide. Use gather_distributed=False, or a PyTorch build with "
                "distributed support."
            )
        self.lambda_param = lambda_param
        self.mu_param = mu_param
        self.nu_param = nu_param
        self.gather_distributed = gather_distributed
        self.eps = eps

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        if z_a.dim() < 2 or z_a.shape != z_b.shape:
            raise ValueError(
                "VICRegLoss needs two views as tensors of the same shape (batch, ..., features), "
                f"got {tuple(z_a.shape)} and {tuple(z_b.shape)}. Pass the projections of both "
                "views of the same batch of images."
            )
        # In float32 even under autocast: the covariance sums N products per entry.
        with torch.autocast(device_type=z_a.device.type, enabled=False):
            dtype = torch.promote_types(z_a.dtype, torch.float32)
            z_a, z_b = z_a.to(dtype), z_b.to(dtype)
            invariance = invariance_loss(z_a, z_b)
            if self.gather_distributed and lm_dist.world_size() > 1:
                z_a, z_b = torch.cat(lm_dist.gather(z_a)), torch.cat(lm_dist.gather(z_b))
            if z_a.shape[0] < 2:
                raise ValueError(
                    "VICRegLoss takes variance and covariance over the batch and needs at least 2 "
                    "samples, got 1. Use a larger batch (and drop_last=True in the DataLoader)."
                )
            variance = (variance_loss(z_a, self.eps) + variance_loss(z_b, self.eps)) / 2
            covariance = covariance_loss(z_a) + covariance_loss(z_b)
            return (
                self.lambda_param * invariance
                + self.mu_param * variance
                + self.nu_param * covariance
            )
