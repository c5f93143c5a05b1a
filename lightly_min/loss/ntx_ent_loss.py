"""NT-Xent, SimCLR's contrastive loss (Chen et al., 2020, arXiv:2002.05709, Eq. 1), and with a
memory bank MoCo's InfoNCE over a queue of negatives (He et al., 2020, arXiv:1911.05722, Eq. 1)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from lightly_min.models.modules.memory_bank import MemoryBankModule
from lightly_min.utils import dist as lm_dist


class NTXentLoss(nn.Module):
    """Normalised temperature-scaled cross-entropy over the two views of a batch: a form of
    the InfoNCE loss (van den Oord et al., 2018, arXiv:1807.03748).

    For embeddings ``z0, z1`` of two views of ``N`` images, every one of the ``2N`` embeddings
    is an anchor: its other view is the positive and the remaining ``2N - 2`` embeddings are
    negatives. With ``sim(a, b) = a.b / (|a| |b|)`` and temperature ``t``, the loss of anchor
    ``i`` with positive ``j`` is::

        l(i, j) = -log( exp(sim(z_i, z_j) / t) / sum_{k != i} exp(sim(z_i, z_k) / t) )

    and the loss is the mean of ``l`` over all ``2N`` anchors.

    With ``gather_distributed=True`` and several processes, the negatives come from the global
    batch: every process gathers the embeddings of all processes (with gradients, see
    :func:`lightly_min.utils.dist.gather`) and takes the loss over its own anchors. Together with
    the gradient averaging of DistributedDataParallel, the loss and its gradients with ``W``
    processes of batch ``N`` then equal those of one process with batch ``W * N``; BatchNorm
    layers in the model still normalise per process unless they are SyncBatchNorm. Every
    process must use the same batch size (``drop_last=True``).

    A batch of one image has no negatives: the positive is the only candidate, the loss is 0
    and gives no gradient, as in lightly. Train with batches of two or more.

    **With a memory bank** (``memory_bank_size > 0``, MoCo) the negatives are a queue of past
    keys instead of the batch: ``out0`` holds the queries ``q`` and ``out1`` the keys ``k+`` of
    the other view, from the momentum encoder. With the queue ``k_1 .. k_K`` as it was before
    this batch, the loss of query ``q`` is::

        l(q) = -log( exp(q.k+ / t) / (exp(q.k+ / t) + sum_i exp(q.k_i / t)) )

    averaged over the ``N`` queries; then, in training (``out0`` requires gradients), the keys
    are enqueued (:class:`~lightly_min.models.modules.memory_bank.MemoryBankModule`). All
    vectors are L2-normalised. ``gather_distributed`` then makes every process enqueue the keys
    of all processes, so the queues stay identical across processes; each process's loss uses
    its own queries, which DistributedDataParallel's gradient averaging turns into the loss of
    the whole batch.

    Args:
        temperature: ``t`` above, > 0. SimCLR's CIFAR-10 experiments found 0.5 best (App. B.9);
            MoCo v2 uses 0.2 (Chen et al., 2020, arXiv:2003.04297, Sec. 3).
        memory_bank_size: ``(K, D)``: the queue's length and the embeddings' dimension; 0 (the
            default) uses the batch's negatives.
        gather_distributed: Whether to draw negatives from the batches of all processes, or
            with a memory bank, to enqueue the keys of all processes.

    Shapes:
        ``out0``, ``out1``: ``(N, D)``; the result is a scalar.
    """

    def __init__(
        self,
        temperature: float = 0.5,
        memory_bank_size: int | Sequence[int] = 0,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(
                f"NTXentLoss needs a temperature > 0, got {temperature}. "
                "SimCLR uses 0.5 on CIFAR-10 and 0.1 on ImageNet."
            )
        if gather_distributed and not dist.is_available():
            raise ValueError(
                "NTXentLoss(gather_distributed=True) needs torch.distributed, which this PyTorch "
                "build does not provide. Use gather_distributed=False, or a PyTorch build with "
                "distributed support."
            )
        self.temperature = temperature
        self.gather_distributed = gather_distributed
        self.memory_bank = MemoryBankModule(
            size=memory_bank_size, gather_distributed=gather_distributed
        )

    def forward(self, out0: torch.Tensor, out1: torch.Tensor) -> torch.Tensor:
        if out0.dim() != 2 or out0.shape != out1.shape:
            raise ValueError(
                "NTXentLoss needs two views as tensors of the same shape (batch, features), got "
                f"{tuple(out0.shape)} and {tuple(out1.shape)}. Pass the projections of both "
                "views of the same batch of images."
            )
        if self.memory_bank.size[0] > 0:
            return self._with_memory_bank(out0, out1)
        n = out0.shape[0]
        world_size = lm_dist.world_size() if self.gather_distributed else 1

        # In float32 even under autocast: small differences in similarity matter after / t.
        with torch.autocast(device_type=out0.device.type, enabled=False):
            # Anchors (2N, D) are this process's embeddings; candidates those of all processes.
            anchors = torch.cat([out0, out1])
            anchors = F.normalize(anchors.to(torch.promote_types(anchors.dtype, torch.float32)))
            z0, z1 = anchors[:n], anchors[n:]
            if world_size > 1:
                z0, z1 = torch.cat(lm_dist.gather(z0)), torch.cat(lm_dist.gather(z1))
            candidates = torch.cat([z0, z1])  # (2M, D), M = N * world_size, view 0 first
            logits = anchors @ candidates.T / self.temperature  # (2N, 2M)

        m = n * world_size
        offset = lm_dist.rank() * n if world_size > 1 else 0
        own = torch.arange(n, device=out0.device) + offset
        self_index = torch.cat([own, own + m])  # column of each anchor itself
        positive_index = torch.cat([own + m, own])  # column of its other view
        self_mask = F.one_hot(self_index, num_classes=2 * m).bool()
        logits = logits.masked_fill(self_mask, float("-inf"))
        return F.cross_entropy(logits, positive_index)

    def _with_memory_bank(self, out0: torch.Tensor, out1: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=out0.device.type, enabled=False):
            dtype = torch.promote_types(out0.dtype, torch.float32)
            q, k = F.normalize(out0.to(dtype)), F.normalize(out1.to(dtype))
            k, queue = self.memory_bank(k, update=out0.requires_grad)  # queue: (D, K), before
            positive = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
            logits = torch.cat([positive, q @ queue.to(dtype)], dim=1) / self.temperature
        labels = torch.zeros(len(q), dtype=torch.long, device=q.device)  # the positive: column 0
        return F.cross_entropy(logits, labels)
