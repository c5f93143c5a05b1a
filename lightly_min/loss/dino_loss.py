"""DINO's loss: self-distillation without labels (Caron et al., 2021, arXiv:2104.14294)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightly_min.models.modules.center import CENTER_MODE_TO_FUNCTION, center_mean


class DINOLoss(nn.Module):
    """The cross-entropy between the teacher's sharpened, centred distributions and the
    student's, over every pair of different views (DINO, Sec. 3.1, Eq. 3 and Algorithm 1).

    For teacher outputs ``t_v`` (the global views) and student outputs ``s_u`` (all views), of
    ``D`` dimensions each, with center ``c``, teacher temperature ``tau_t`` and student
    temperature ``tau_s``::

        P_t(v) = softmax((t_v - c) / tau_t)        P_s(u) = softmax(s_u / tau_s)
        L = mean over pairs u != v, and the batch, of  - sum_k P_t(v)_k log P_s(u)_k

    Pairs of the same view are skipped: view ``i`` of the student is view ``i`` of the
    teacher, so the teacher's views must come first, in the same order. After the loss, the
    center moves towards the mean of the teacher outputs, over the batch, the views and all
    processes (:class:`~lightly_min.models.modules.center.Center`): the loss uses the center
    from before the batch. The teacher's outputs should be constants (a momentum teacher with
    frozen weights): this loss does not detach them.

    The teacher temperature rises linearly from ``warmup_teacher_temp`` to ``teacher_temp`` over
    the first ``warmup_teacher_temp_epochs`` epochs when ``epoch`` is given (the paper: 0.04 to
    0.07 over 30 epochs, Sec. 5 and App.); the defaults, 0.04 to 0.04, are lightly's.

    Args:
        output_dim: ``D``, the width of the head's output.
        warmup_teacher_temp: The teacher temperature at epoch 0.
        teacher_temp: The teacher temperature after the warm-up.
        warmup_teacher_temp_epochs: The warm-up's length in epochs.
        student_temp: ``tau_s``; 0.1 in the paper.
        center_momentum: The center's momentum; 0.9 in the paper.
        center_mode: How to take the batch's center; only ``"mean"``.

    Shapes:
        ``teacher_out``: a list of ``T`` tensors ``(B, D)``; ``student_out``: a list of ``S``
        tensors ``(B, D)``; the result is a scalar.
    """

    def __init__(
        self,
        output_dim: int = 65536,
        warmup_teacher_temp: float = 0.04,
        teacher_temp: float = 0.04,
        warmup_teacher_temp_epochs: int = 30,
        student_temp: float = 0.1,
        center_momentum: float = 0.9,
        center_mode: str = "mean",
    ) -> None:
        super().__init__()
        if center_mode not in CENTER_MODE_TO_FUNCTION:
            raise ValueError(
                f"Unknown center mode {center_mode!r}: choose one of "
                f"{sorted(CENTER_MODE_TO_FUNCTION)}."
            )
        self.warmup_teacher_temp_epochs = warmup_teacher_temp_epochs
        self.teacher_temp = teacher_temp
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(1, 1, output_dim))
        self.teacher_temp_schedule = torch.linspace(
            warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs
        )

    def temperature(self, teacher_temp: float | None = None, epoch: int | None = None) -> float:
        """The teacher temperature: ``teacher_temp`` if given, else the warm-up's value at
        ``epoch``, else ``teacher_temp`` of the constructor."""
        if teacher_temp is not None:
            return teacher_temp
        if epoch is not None and epoch < self.warmup_teacher_temp_epochs:
            return float(self.teacher_temp_schedule[epoch])
        return self.teacher_temp

    def forward(
        self,
        teacher_out: list[torch.Tensor],
        student_out: list[torch.Tensor],
        teacher_temp: float | None = None,
        epoch: int | None = None,
    ) -> torch.Tensor:
        teacher, student = torch.stack(teacher_out), torch.stack(student_out)  # (T | S, B, D)
        n_teacher, n_student, batch_size = teacher.shape[0], student.shape[0], teacher.shape[1]
        pairs = n_teacher * n_student - min(n_teacher, n_student)
        if pairs == 0:
            raise ValueError(
                "DINOLoss needs at least two views: one teacher view and one student view are "
                "the same view, so no pair is left. Pass two global views to the teacher, "
                "and the global and local views to the student."
            )
        tau_t = self.temperature(teacher_temp, epoch)
        with torch.autocast(device_type=teacher.device.type, enabled=False):
            p_teacher = F.softmax((teacher.float() - self.center) / tau_t, dim=-1)
            log_p_student = F.log_softmax(student.float() / self.student_temp, dim=-1)
            # cross[v, u]: the cross-entropy of teacher view v and student view u, summed
            # over the batch.
            cross = -torch.einsum("vbd,ubd->vu", p_teacher, log_p_student)
        same_view = torch.eye(n_teacher, n_student, dtype=torch.bool, device=cross.device)
        loss = cross.masked_fill(same_view, 0.0).sum() / (pairs * batch_size)
        self.update_center(teacher)
        return loss

    @torch.no_grad()
    def update_center(self, teacher_out: torch.Tensor) -> None:
        """Moves the center towards the mean of ``teacher_out`` ``(T, B, D)`` over views,
        batch and processes."""
        batch_center = center_mean(teacher_out.float(), dim=(0, 1))
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)
