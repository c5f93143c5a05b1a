"""LARS against one and two steps worked out by hand (You et al., 2017, Eq. 6)."""

import pytest
import torch

from lightly_min.utils.lars import LARS


def _parameter(values, grad):
    p = torch.nn.Parameter(torch.tensor(values))
    p.grad = torch.tensor(grad)
    return p


def test_one_step_scales_the_decayed_gradient_by_the_trust_ratio():
    # ||w|| = 5, ||g|| = 1: ratio = 0.01 * 5 / (1 + 0.1 * 5) = 1/30;
    # d = (g + 0.1 w) / 30 = (0.9, 1.2) / 30 = (0.03, 0.04).
    p = _parameter([3.0, 4.0], [0.6, 0.8])
    LARS([p], lr=1.0, weight_decay=0.1, trust_coefficient=0.01, eps=0.0).step()
    assert p.detach().tolist() == pytest.approx([2.97, 3.96])


def test_momentum_accumulates_the_scaled_steps():
    # Step 1 as above, v = (0.03, 0.04), w = (2.97, 3.96). Step 2 with g = 0: ||g|| = 0, so
    # the plain, undecayed step d = 0 and v = 0.9 v = (0.027, 0.036).
    p = _parameter([3.0, 4.0], [0.6, 0.8])
    optimizer = LARS([p], lr=1.0, momentum=0.9, weight_decay=0.1, trust_coefficient=0.01, eps=0)
    optimizer.step()
    p.grad = torch.zeros(2)
    optimizer.step()
    assert p.detach().tolist() == pytest.approx([2.97 - 0.027, 3.96 - 0.036])


def test_a_group_without_weight_decay_gets_plain_sgd():
    weight = _parameter([3.0, 4.0], [0.6, 0.8])
    bias = _parameter([1.0], [2.0])
    groups = [dict(params=[weight]), dict(params=[bias], weight_decay=0.0, lr=0.1)]
    LARS(groups, lr=1.0, weight_decay=0.1, trust_coefficient=0.01, eps=0.0).step()
    assert bias.item() == pytest.approx(1.0 - 0.1 * 2.0)
    assert weight.detach().tolist() == pytest.approx([2.97, 3.96])


def test_the_step_barely_depends_on_the_gradient_scale():
    # With little decay the ratio divides by ||g||: a gradient 1000 times larger moves the
    # layer by the same amount, lr * trust_coefficient * ||w||.
    steps = []
    for scale in (1.0, 1000.0):
        p = _parameter([3.0, 4.0], [0.6 * scale, 0.8 * scale])
        LARS([p], lr=1.0, weight_decay=1e-6, trust_coefficient=0.01).step()
        steps.append(torch.linalg.vector_norm(p.detach() - torch.tensor([3.0, 4.0])).item())
    assert steps == pytest.approx([0.05, 0.05], rel=1e-4)


def test_bad_settings_are_refused():
    p = _parameter([1.0], [1.0])
    with pytest.raises(ValueError, match="lr >= 0"):
        LARS([p], lr=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        LARS([p], lr=0.1, nesterov=True)
