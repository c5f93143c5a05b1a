import copy
import math

import pytest
import torch
from torch import nn

from lightly_min.models.modules import BYOLPredictionHead, BYOLProjectionHead
from lightly_min.models.utils import (
    activate_requires_grad,
    deactivate_requires_grad,
    update_momentum,
)
from lightly_min.utils.scheduler import cosine_schedule


def test_update_momentum_is_the_ema_of_byol_written_out():
    online = nn.Linear(2, 1)
    target = copy.deepcopy(online)
    with torch.no_grad():
        online.weight.copy_(torch.tensor([[1.0, 2.0]]))
        online.bias.fill_(3.0)
        target.weight.copy_(torch.tensor([[5.0, -2.0]]))
        target.bias.fill_(-1.0)
    update_momentum(online, target, m=0.75)
    # 0.75 * target + 0.25 * online, by hand:
    assert target.weight.tolist() == [[0.75 * 5 + 0.25 * 1, 0.75 * -2 + 0.25 * 2]]
    assert target.bias.tolist() == [0.75 * -1 + 0.25 * 3]
    assert online.weight.tolist() == [[1.0, 2.0]]  # the online network is untouched


def test_update_momentum_limits_and_bad_values():
    online, target = nn.Linear(3, 3), nn.Linear(3, 3)
    before = target.weight.clone()
    update_momentum(online, target, m=1.0)
    assert torch.equal(target.weight, before)
    update_momentum(online, target, m=0.0)
    assert torch.equal(target.weight, online.weight)
    with pytest.raises(ValueError, match=r"m in \[0, 1\]"):
        update_momentum(online, target, m=1.5)


def test_deactivate_and_activate_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    deactivate_requires_grad(model)
    assert not any(p.requires_grad for p in model.parameters())
    activate_requires_grad(model)
    assert all(p.requires_grad for p in model.parameters())


def test_cosine_schedule_at_known_steps():
    # BYOL's momentum: 0.996 at the first step, 1 at the last, the mean half-way.
    assert cosine_schedule(0, 11, 0.996, 1.0) == pytest.approx(0.996)
    assert cosine_schedule(5, 11, 0.996, 1.0) == pytest.approx(0.998)  # cos(pi / 2) = 0
    assert cosine_schedule(10, 11, 0.996, 1.0) == 1.0
    assert cosine_schedule(20, 11, 0.996, 1.0) == 1.0  # past the end: stays at the end value
    # a quarter of the way: end - (end - start) * (cos(pi / 4) + 1) / 2
    expected = 1.0 - 0.004 * (math.cos(math.pi / 4) + 1) / 2
    assert cosine_schedule(1, 5, 0.996, 1.0) == pytest.approx(expected)
    assert cosine_schedule(0, 1, 0.5, 2.0) == 2.0
    # with a period, a whole cycle: back at the start value after `period` steps
    assert cosine_schedule(10, 100, 0.0, 1.0, period=10) == pytest.approx(0.0)
    assert cosine_schedule(5, 100, 0.0, 1.0, period=10) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        cosine_schedule(-1, 10, 0.0, 1.0)


def test_byol_heads_follow_the_paper():
    projection, prediction = BYOLProjectionHead(), BYOLPredictionHead()
    assert projection(torch.randn(4, 2048)).shape == (4, 256)
    assert prediction(torch.randn(4, 256)).shape == (4, 256)
    linear, batch_norm, relu, out = projection.layers
    assert (linear.in_features, linear.out_features, linear.bias) == (2048, 4096, None)
    assert isinstance(batch_norm, nn.BatchNorm1d) and isinstance(relu, nn.ReLU)
    assert (out.in_features, out.out_features) == (4096, 256) and out.bias is not None
