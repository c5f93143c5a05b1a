"""NT-Xent, SimCLR's contrastive loss (Chen et al., 2020, arXiv:2002.05709, Eq. 1)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

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

    Args:
        temperature: ``t`` above, > 0. SimCLR's CIFAR-10 experiments found 0.5 best (App. B.9).
        gather_distributed: Whether to draw negatives from the batches of all processes.

    Shapes:
        ``out0``, ``out1``: ``(N, D)``; the result is a scalar.
    """

    def __init__(self, temperature: float = 0.5, gather_distributed: bool = False) -> None:
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

    def forward(self, out0: torch.Tensor, out1: torch.Tensor) -> torch.Tensor:
        if out0.dim() != 2 or out0.shape != out1.shape:
            raise ValueError(
                "NTXentLoss needs two views as tensors of the same shape (batch, features), got "
                f"{tuple(out0.shape)} and {tuple(out1.shape)}. Pass the projections of both "
                "views of the same batch of images."
            )
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
