"""The examples' models do what their methods need, checked against a second computation:
the stop-gradient of SimSiam and FastSiam, and BYOL's constant target network."""

import importlib.util

import pytest
import torch
from examples_support import EXAMPLES
from torch import nn

from lightly_min.loss import NegativeCosineSimilarity


def example_module(path: str):
    spec = importlib.util.spec_from_file_location(path.replace("/", "_"), EXAMPLES / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_backbone() -> nn.Module:
    """Images (B, 3, 4, 4) to the 512 features that the examples' heads expect."""
    return nn.Sequential(nn.Flatten(), nn.Linear(48, 512))


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("path", ["pytorch/simsiam.py", "pytorch/fastsiam.py"])
def test_the_projection_target_is_a_constant(path):
    """The gradient of D(p0, z1) equals the gradient with z1 computed without any graph: no
    gradient flows through the target branch (SimSiam, Sec. 3 and Table 1)."""
    torch.manual_seed(0)
    module = example_module(path)
    model = getattr(module, "SimSiam" if "simsiam" in path else "FastSiam")(tiny_backbone())
    model.eval()  # BatchNorm with fixed statistics: the two computations see the same function
    x0, x1 = torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4)
    criterion = NegativeCosineSimilarity()

    _, p0 = model(x0)
    z1, _ = model(x1)
    criterion(p0, z1).backward()
    through_model = grads(model)

    model.zero_grad()
    with torch.no_grad():  # the target, by hand, outside any graph
        target = model.projection_head(model.backbone(x1))
    p0 = model.prediction_head(model.projection_head(model.backbone(x0)))
    criterion(p0, target).backward()
    for a, b in zip(through_model, grads(model), strict=True):
        torch.testing.assert_close(a, b)


def test_byols_target_network_gets_no_gradient_and_is_a_copy():
    torch.manual_seed(0)
    model = example_module("pytorch/byol.py").BYOL(tiny_backbone())
    x = torch.randn(4, 3, 4, 4)
    assert not model.forward_momentum(x).requires_grad  # a constant for the loss
    model(x).sum().backward()  # the online network's prediction: gradients reach it only
    target = [*model.backbone_momentum.parameters(), *model.projection_head_momentum.parameters()]
    assert all(not p.requires_grad and p.grad is None for p in target)
    assert all(p.grad is not None for p in model.backbone.parameters())
    online = [*model.backbone.parameters(), *model.projection_head.parameters()]
    for a, b in zip(online, target, strict=True):  # an exact copy, in memory of its own
        assert torch.equal(a.detach(), b) and a.data_ptr() != b.data_ptr()
