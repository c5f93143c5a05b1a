"""LARS: SGD with a layer-wise trust ratio (You et al., 2017, arXiv:1708.03888, Eq. 6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer


class LARS(Optimizer):
    """SGD whose step for each parameter tensor is scaled by its trust ratio.

    For a parameter tensor ``w`` with gradient ``g`` and weight decay ``beta``::

        ratio = trust_coefficient * ||w|| / (||g|| + beta * ||w|| + eps)
        d     = ratio * (g + beta * w)
        v     = momentum * v + (1 - dampening) * d       (v = d at the first step)
        w     = w - lr * v                               (Nesterov: d + momentum * v)

    so every layer moves by about ``lr * trust_coefficient`` of its own norm, however large
    its gradient is. Tensors in a parameter group with ``weight_decay=0`` get plain SGD with
    momentum: no trust ratio and no decay. Self-supervised recipes put biases and BatchNorm
    parameters there (Barlow Twins, Zbontar et al., 2021, Sec. 2; SimCLR, BYOL). A tensor whose
    norm or gradient norm is 0 (a fresh zero-initialised layer) gets the plain step, undecayed.

    Args:
        params: Parameters, or dicts of parameter groups as for any torch optimiser.
        lr: Learning rate.
        momentum: Momentum factor.
        dampening: Dampening of the momentum.
        weight_decay: L2 weight decay ``beta``; 0 also turns the trust ratio off.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
        trust_coefficient: ``eta`` in the paper; 0.001 by default, as lightly's.
        eps: Added to the denominator of the ratio.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
    ) -> None:
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if not value >= 0:
                raise ValueError(f"LARS needs {name} >= 0, got {value}.")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "LARS(nesterov=True) needs momentum > 0 and dampening = 0, got "
                f"momentum={momentum}, dampening={dampening}."
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            trust_coefficient=trust_coefficient,
            eps=eps,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            decay, momentum = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if decay != 0:
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(d_p)
                    ratio = (
                        group["trust_coefficient"]
                        * w_norm
                        / (g_norm + decay * w_norm + group["eps"])
                    )
                    adapt = (w_norm > 0) & (g_norm > 0)
                    d_p = torch.where(adapt, (d_p + decay * p) * ratio, d_p)
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buffer = state["momentum_buffer"] = d_p.clone()
                    else:
                        buffer = state["momentum_buffer"]
                        buffer.mul_(momentum).add_(d_p, alpha=1 - group["dampening"])
                    d_p = d_p + momentum * buffer if group["nesterov"] else buffer
                p.add_(d_p, alpha=-group["lr"])
        return loss
