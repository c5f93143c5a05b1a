"""A queue of past embeddings, MoCo's negatives (He et al., 2020, arXiv:1911.05722, Sec. 3.2)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from lightly_min.utils import dist as lm_dist


class MemoryBankModule(nn.Module):
    """A first-in-first-out queue of ``K`` embeddings.

    Each call returns the queue as it was, then (with ``update=True``) writes the batch at the
    pointer and moves it on: the oldest entries are replaced first. A batch that reaches the end
    of the queue fills it up and the pointer returns to 0; the rest of that batch is dropped,
    as in lightly (choose ``K`` as a multiple of the batch to use every key). The queue starts
    as random unit vectors.

    Unlike lightly, which leaves them out (lightly#993), the queue and its pointer are in
    ``state_dict``: a resumed run continues with the same negatives.

    With ``gather_distributed=True`` and several processes, each process enqueues the batches
    of all processes, in rank order, and the first call copies rank 0's initial queue to every
    process: the queues stay identical, and equal to that of one process that saw the whole
    batch. Without it, each process keeps a queue of its own keys.

    Args:
        size: ``(K, D)``: the number of embeddings and their dimension. A bare ``K`` is
            accepted, as in lightly, with a warning: ``D`` is then taken from the first batch.
            ``0`` disables the queue.
        gather_distributed: Whether to enqueue the batches of all processes.
        feature_dim_first: Whether the queue is returned as ``(D, K)`` (True) or ``(K, D)``.

    Shapes:
        ``output``: ``(N, D)``; returns ``(output, bank)`` with ``bank`` ``(D, K)`` or
        ``(K, D)``, a detached copy from before this update, or ``None`` when ``size`` is 0.
    """

    def __init__(
        self,
        size: int | Sequence[int] = 65536,
        gather_distributed: bool = False,
        feature_dim_first: bool = True,
    ) -> None:
        super().__init__()
        shape = (size,) if isinstance(size, int) else tuple(size)
        if any(s < 0 for s in shape) or len(shape) not in (1, 2):
            raise ValueError(
                f"Illegal memory bank size {size}: give (number of embeddings, dimension), both "
                ">= 0, e.g. (4096, 128); 0 turns the memory bank off."
            )
        if len(shape) == 1 and shape[0] > 0:
            warnings.warn(
                f"Memory bank size {size} does not specify feature dimension: it is taken from "
                f"the first batch. Give (size, dim), e.g. ({size}, 128).",
                UserWarning,
                stacklevel=2,
            )
        if gather_distributed and not dist.is_available():
            raise ValueError(
                "MemoryBankModule(gather_distributed=True) needs torch.distributed, which this "
                "PyTorch build does not provide. Use gather_distributed=False."
            )
        self.size = shape
        self.gather_distributed = gather_distributed
        self.feature_dim_first = feature_dim_first
        self._synced = False
        in_checkpoints = shape[0] > 0  # an unused queue adds nothing to the state_dict
        self.register_buffer("bank", torch.empty(0), persistent=in_checkpoints)
        self.register_buffer(
            "bank_ptr", torch.zeros(1, dtype=torch.long), persistent=in_checkpoints
        )
        if len(shape) == 2 and shape[0] > 0:
            self._init_bank(shape)

    @torch.no_grad()
    def _init_bank(self, shape: Sequence[int]) -> None:
        self.bank = F.normalize(torch.randn(*shape), dim=-1).type_as(self.bank)
        self.bank_ptr.zero_()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        # A lazily sized queue is empty until its first batch; take the checkpoint's shape.
        bank = state_dict.get(prefix + "bank")
        if bank is not None and bank.shape != self.bank.shape:
            self.bank = torch.empty_like(bank, device=self.bank.device)
        self._synced = True  # every process loads the same checkpoint
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, batch: torch.Tensor) -> None:
        if self.gather_distributed and lm_dist.world_size() > 1:
            parts = [torch.empty_like(batch) for _ in range(lm_dist.world_size())]
            dist.all_gather(parts, batch.contiguous())
            batch = torch.cat(parts)
        size, ptr, n = self.bank.shape[0], int(self.bank_ptr), batch.shape[0]
        if ptr + n >= size:
            self.bank[ptr:] = batch[: size - ptr].detach()
            self.bank_ptr.zero_()
        else:
            self.bank[ptr : ptr + n] = batch.detach()
            self.bank_ptr += n

    def forward(
        self, output: torch.Tensor, labels: torch.Tensor | None = None, update: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Returns ``(output, bank)``, the queue as it was before this batch; with
        ``update=True`` then enqueues ``output``. ``labels`` is accepted for lightly's
        signature and not used."""
        if self.size[0] == 0:
            return output, None
        if self.bank.numel() == 0:  # lazily sized: (K, *output.shape[1:])
            self._init_bank((self.size[0], *output.shape[1:]))
            self.bank = self.bank.to(output.device)
        elif output.shape[1:] != self.bank.shape[1:]:
            raise ValueError(
                f"MemoryBankModule holds embeddings of shape {tuple(self.bank.shape[1:])}, got "
                f"a batch of {tuple(output.shape[1:])}. Build it with size=(K, "
                f"{output.shape[-1]}) to match the projection head."
            )
        if self.gather_distributed and lm_dist.world_size() > 1 and not self._synced:
            dist.broadcast(self.bank, src=0)  # the same initial queue on every process
        self._synced = True
        bank = self.bank.clone().detach()
        if update:
            self._dequeue_and_enqueue(output.to(self.bank.dtype))
        return output, bank.T if self.feature_dim_first else bank
