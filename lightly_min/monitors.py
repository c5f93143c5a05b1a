"""Collapse monitors of DINO's teacher (Caron et al., 2021, arXiv:2104.14294, Sec. 5.3).

DINO can collapse in two ways: every image onto one prototype (the teacher's distribution
one-hot and the same for all images), or every image onto the uniform distribution. The paper
tells them apart by the entropy of the teacher's output. These two numbers do it per batch:

* :func:`teacher_entropy`: 0 at a one-hot output, ``ln K`` at the uniform one;
* :func:`prototypes_in_use`: how many prototypes are some image's most probable one; 1 when
  every image falls on the same prototype.

Not in lightly: lightly_min's examples and tutorials print and record them.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def teacher_entropy(
    teacher_out: torch.Tensor, center: torch.Tensor, temperature: float
) -> torch.Tensor:
    """The mean over images of the entropy of the teacher's distribution::

        P = softmax((t - c) / tau_t)        H = mean_b ( - sum_k P_bk ln P_bk )

    Args:
        teacher_out: ``(B, K)`` teacher outputs ``t``.
        center: ``c``, broadcastable to ``(B, K)`` (``DINOLoss.center``, read before the loss
            updates it).
        temperature: ``tau_t``, e.g. ``DINOLoss.temperature(epoch=epoch)``.

    Returns:
        A 0-d tensor in ``[0, ln K]``.
    """
    logits = (teacher_out.float() - center.reshape(1, -1).float()) / temperature
    log_p = torch.log_softmax(logits, dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1).mean()


@torch.no_grad()
def prototypes_in_use(teacher_out: torch.Tensor, center: torch.Tensor | None = None) -> int:
    """How many of the ``K`` outputs are the largest for at least one of the ``B`` images,
    after subtracting ``center`` (``(B, K)`` and ``(K,)`` or ``(1, 1, K)``): between 1 and
    ``min(B, K)``."""
    if center is not None:
        teacher_out = teacher_out - center.reshape(1, -1)
    return int(torch.unique(teacher_out.argmax(dim=-1)).numel())
