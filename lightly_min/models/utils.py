"""Helpers for models with a momentum (EMA) copy, as BYOL and MoCo use, and MoCo's batch
shuffle."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from lightly_min.utils import dist as lm_dist


@torch.no_grad()
def update_momentum(model: nn.Module, model_ema: nn.Module, m: float) -> None:
    """Moves every parameter of ``model_ema`` towards its counterpart in ``model``:

    ``theta_ema <- m * theta_ema + (1 - m) * theta``

    the exponential moving average of BYOL's target network (Grill et al., 2020,
    arXiv:2006.07733, Sec. 3.1, with ``m`` the paper's ``tau``). Parameters are paired in
    the order of ``parameters()``, so ``model_ema`` must be a copy of ``model``'s structure
    (``copy.deepcopy``). Buffers, such as BatchNorm statistics, are not averaged: the momentum
    network keeps its own.

    Args:
        model: The network trained by gradient descent (the online network).
        model_ema: Its momentum copy (the target network), updated in place.
        m: The momentum, in [0, 1]; 1 keeps ``model_ema`` as it is, 0 copies ``model``.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"update_momentum needs a momentum m in [0, 1], got {m}.")
    pairs = list(zip(model_ema.parameters(), model.parameters(), strict=True))
    for ema, online in pairs:
        ema.mul_(m).add_(online.detach(), alpha=1.0 - m)


def deactivate_requires_grad(model: nn.Module) -> None:
    """Freezes every parameter of ``model`` (``requires_grad = False``): a momentum network
    is updated by :func:`update_momentum`, never by an optimiser."""
    for parameter in model.parameters():
        parameter.requires_grad = False


def activate_requires_grad(model: nn.Module) -> None:
    """Makes every parameter of ``model`` trainable again (``requires_grad = True``)."""
    for parameter in model.parameters():
        parameter.requires_grad = True


@torch.no_grad()
def batch_shuffle(
    batch: torch.Tensor, distributed: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffles the batch, for MoCo's shuffling BatchNorm (He et al., 2020, arXiv:1911.05722,
    Sec. 3.3): the key encoder sees the keys in another order, or with ``distributed=True`` on
    other processes, so that its per-process BatchNorm statistics mix samples whose queries
    were normalised together, and the model cannot use them to find the positive.

    With ``distributed=True`` the global batch is gathered, permuted (rank 0's permutation,
    broadcast) and split again: each process gets as many samples as it gave, mostly other
    processes'. Every process must hold the same number of samples (``drop_last=True``).
    Without it, or in one process, the permutation stays within the batch, which changes no
    BatchNorm statistics unless the encoder splits the batch.

    Shapes:
        ``batch``: ``(N, ...)``; returns the shuffled ``(N, ...)`` and the permutation, which
        :func:`batch_unshuffle` needs.
    """
    if distributed and lm_dist.world_size() > 1:
        gathered = _gather_equal_batches(batch)
        permutation = torch.randperm(len(gathered), device=batch.device)
        dist.broadcast(permutation, src=0)
        own = permutation.view(lm_dist.world_size(), -1)[lm_dist.rank()]
        return gathered[own], permutation
    permutation = torch.randperm(len(batch), device=batch.device)
    return batch[permutation], permutation


@torch.no_grad()
def batch_unshuffle(
    batch: torch.Tensor, shuffle: torch.Tensor, distributed: bool = False
) -> torch.Tensor:
    """Puts a batch shuffled by :func:`batch_shuffle` back in its order: ``shuffle`` is the
    permutation it returned, and ``distributed`` must be what it was given. Each process gets
    its own samples back, in their order. Shapes: ``(N, ...) -> (N, ...)``."""
    unshuffle = torch.argsort(shuffle)
    if distributed and lm_dist.world_size() > 1:
        gathered = _gather_equal_batches(batch)
        return gathered[unshuffle.view(lm_dist.world_size(), -1)[lm_dist.rank()]]
    return batch[unshuffle]


def _gather_equal_batches(batch: torch.Tensor) -> torch.Tensor:
    """The batches of all processes, concatenated in rank order (no gradients)."""
    sizes = [
        torch.zeros(1, dtype=torch.long, device=batch.device) for _ in range(lm_dist.world_size())
    ]
    dist.all_gather(sizes, torch.tensor([len(batch)], device=batch.device))
    if len({int(size) for size in sizes}) > 1:
        raise ValueError(
            f"batch_shuffle(distributed=True) needs the same batch size on every process, got "
            f"{[int(size) for size in sizes]}. Use drop_last=True in the DataLoader."
        )
    parts = [torch.empty_like(batch) for _ in range(lm_dist.world_size())]
    dist.all_gather(parts, batch.contiguous())
    return torch.cat(parts)
