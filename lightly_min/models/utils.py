"""Helpers for models with a momentum (EMA) copy, as BYOL and MoCo use."""

from __future__ import annotations

import torch
from torch import nn


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
