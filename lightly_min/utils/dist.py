"""Helpers for code that runs in one process or in several (``torch.distributed``).

Every function works without an initialised process group: then there is one process, of rank 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist


def is_initialized() -> bool:
    """Whether ``torch.distributed`` is available and a process group is running."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank, or 0 when ``torch.distributed`` is not initialised."""
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    """The number of processes, or 1 when ``torch.distributed`` is not initialised."""
    return dist.get_world_size() if is_initialized() else 1


class GatherLayer(torch.autograd.Function):
    """All-gather with gradients that flow back to the process that owns each slice.

    Forward: every process receives the tensors of all processes, ordered by rank.
    Backward: each process holds a gradient for every gathered slice; an all-reduce (SUM) adds up
    what all processes computed for each slice, and each process keeps the sum for its own slice.
    So a loss that uses the gathered tensors on every process trains each process's inputs with
    the gradient of the sum of all processes' losses (SimCLR, Chen et al., 2020, Sec. 2.2 uses
    this to draw negatives from the global batch).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``x`` of every process, ordered by rank."""
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return tuple(out)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> torch.Tensor:
        """The gradient of this process's slice, summed over all processes."""
        all_grads = torch.stack(grads)
        dist.all_reduce(all_grads, op=dist.ReduceOp.SUM)
        return all_grads[dist.get_rank()]


def gather(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Gathers ``x`` from every process, with gradients (see :class:`GatherLayer`).

    Args:
        x: A tensor of the same shape on every process, e.g. embeddings ``(N, D)``.

    Returns:
        A tuple of ``world_size()`` tensors shaped like ``x``, ordered by rank; ``(x,)`` when
        ``torch.distributed`` is not initialised.
    """
    if world_size() == 1:
        return (x,)
    return GatherLayer.apply(x)


def eye_rank(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A boolean ``(n, n * world_size())`` matrix that is True at ``(i, rank() * n + i)``.

    It marks, for each of this process's ``n`` samples, its own column among the gathered
    samples of all processes (ordered by rank): the self-similarities that a contrastive loss
    over gathered features leaves out. Allocated on ``device``.
    """
    columns = torch.arange(n, device=device) + rank() * n
    mask = torch.zeros(n, n * world_size(), dtype=torch.bool, device=device)
    mask[torch.arange(n, device=device), columns] = True
    return mask


F = TypeVar("F", bound=Callable[..., Any])


def rank_zero_only(fn: F) -> F:
    """Decorates ``fn`` to run on the process of rank 0 only; elsewhere it returns None."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs) if rank() == 0 else None

    return wrapped  # type: ignore[return-value]


@rank_zero_only
def print_rank_zero(*args: Any, **kwargs: Any) -> None:
    """``print`` on the process of rank 0 only."""
    print(*args, **kwargs)
