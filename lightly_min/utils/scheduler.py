"""Schedules for values that change over training, such as BYOL's momentum."""

from __future__ import annotations

import math


def cosine_schedule(
    step: int, max_steps: int, start_value: float, end_value: float, period: int | None = None
) -> float:
    """A value that moves from ``start_value`` to ``end_value`` along half a cosine.

    ``value(step) = end - (end - start) * (cos(pi * step / (max_steps - 1)) + 1) / 2``, so it
    is ``start_value`` at step 0 and ``end_value`` at step ``max_steps - 1`` and after; with
    ``max_steps <= 1`` it is ``end_value``. BYOL raises its momentum this way, from 0.996 to 1
    over training (Grill et al., 2020, arXiv:2006.07733, Sec. 3.3). With ``period``, the value
    instead runs a whole cosine cycle every ``period`` steps:
    ``end - (end - start) * (cos(2 pi * step / period) + 1) / 2``.

    The values follow lightly's ``lightly.utils.scheduler.cosine_schedule``.
    """
    if step < 0 or max_steps < 0:
        raise ValueError(
            f"cosine_schedule needs step >= 0 and max_steps >= 0, got {step} and {max_steps}."
        )
    if period is not None:
        if period <= 0:
            raise ValueError(f"cosine_schedule needs a period >= 1, got {period}.")
        phase = 2 * math.pi * step / period
    elif max_steps <= 1 or step >= max_steps - 1:
        return float(end_value)
    else:
        phase = math.pi * step / (max_steps - 1)
    return float(end_value - (end_value - start_value) * (math.cos(phase) + 1) / 2)
