"""DINO's pieces against the paper's equations written out by hand (Caron et al., 2021)."""

import copy
import math

import pytest
import torch
import torchvision.transforms as T
from PIL import Image
from torch import nn

from lightly_min.loss import DINOLoss
from lightly_min.models.modules import DINOProjectionHead
from lightly_min.models.modules.center import Center
from lightly_min.transforms import RandomSolarization
from lightly_min.transforms.dino_transform import DINOTransform
from lightly_min.transforms.multi_crop_transform import MultiCropTranform


def softmax(row, t):
    exps = [math.exp(v / t) for v in row]
    return [e / sum(exps) for e in exps]


def dino_by_hand(teacher, student, center, tau_t, tau_s):
    """Eq. 3: the mean over pairs of different views and over the batch of
    H(P_t, P_s) = -sum_k P_t[k] log P_s[k]; views are lists of (B, D) nested lists."""
    terms = []
    for v, t_view in enumerate(teacher):
        for u, s_view in enumerate(student):
            if u == v:
                continue
            for t_row, s_row in zip(t_view, s_view):
                p_t = softmax([a - c for a, c in zip(t_row, center)], tau_t)
                p_s = softmax(s_row, tau_s)
                terms.append(-sum(a * math.log(b) for a, b in zip(p_t, p_s)))
    return sum(terms) / len(terms)


@pytest.mark.parametrize("local_views", [0, 1, 3])
def test_dino_loss_is_the_papers_cross_entropy_with_the_center_from_before_the_batch(
    local_views,
):
    torch.manual_seed(0)
    loss = DINOLoss(output_dim=5, student_temp=0.1, center_momentum=0.9)
    teacher = [torch.randn(3, 5) for _ in range(2)]
    student = [torch.randn(3, 5) for _ in range(2 + local_views)]
    value = loss(teacher, student, teacher_temp=0.04)
    expected = dino_by_hand(
        [t.tolist() for t in teacher], [s.tolist() for s in student], [0.0] * 5, 0.04, 0.1
    )
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # The center moved from 0 by (1 - 0.9) times the teacher outputs' mean.
    mean = [sum(t[b][k] for t in teacher for b in range(3)) / 6 for k in range(5)]
    center = [0.1 * m for m in mean]
    torch.testing.assert_close(loss.center.flatten(), torch.tensor(center))
    # The next batch is sharpened against that center.
    teacher2 = [torch.randn(3, 5) for _ in range(2)]
    expected2 = dino_by_hand(
        [t.tolist() for t in teacher2], [s.tolist() for s in student], center, 0.04, 0.1
    )
    assert loss(teacher2, student, teacher_temp=0.04).item() == pytest.approx(expected2, rel=1e-5)


def test_teacher_temperature_warms_up_linearly_then_stays():
    loss = DINOLoss(warmup_teacher_temp=0.04, teacher_temp=0.07, warmup_teacher_temp_epochs=4)
    assert [round(loss.temperature(epoch=e), 6) for e in range(6)] == [
        0.04, 0.05, 0.06, 0.07, 0.07, 0.07
    ]  # fmt: skip
    assert loss.temperature() == 0.07
    assert loss.temperature(teacher_temp=0.02, epoch=0) == 0.02  # an explicit value wins
    torch.manual_seed(1)
    teacher, student = [torch.randn(2, 4)] * 2, [torch.randn(2, 4) for _ in range(2)]
    small = DINOLoss(output_dim=4, warmup_teacher_temp=0.04, teacher_temp=0.07,
                     warmup_teacher_temp_epochs=4)  # fmt: skip
    expected = dino_by_hand([t.tolist() for t in teacher], [s.tolist() for s in student],
                            [0.0] * 4, 0.05, 0.1)  # fmt: skip
    assert small(teacher, student, epoch=1).item() == pytest.approx(expected, rel=1e-5)


def test_dino_loss_gives_the_student_all_the_gradient():
    teacher = [torch.randn(2, 4) for _ in range(2)]
    student = [torch.randn(2, 4, requires_grad=True) for _ in range(3)]
    DINOLoss(output_dim=4)(teacher, student).backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in student)


def test_one_teacher_and_one_student_view_leave_no_pair():
    with pytest.raises(ValueError, match="at least two views"):
        DINOLoss(output_dim=3)([torch.randn(2, 3)], [torch.randn(2, 3)])


def test_center_follows_its_momentum_over_the_dimensions_of_size_one():
    center = Center((1, 2), momentum=0.0)
    center.update(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert torch.equal(center.value, torch.tensor([[2.0, 3.0]]))
    slow = Center((1, 2), momentum=0.75)
    slow.update(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    slow.update(torch.tensor([[0.0, 0.0], [0.0, 0.0]]))
    # 0.75 * (0.25 * [2, 3]) + 0.25 * 0
    torch.testing.assert_close(slow.value, torch.tensor([[0.375, 0.5625]]))
    with pytest.raises(ValueError, match="Unknown center mode"):
        Center((1, 2), mode="median")


def test_dino_head_structure_and_unit_rows_of_the_last_layer():
    head = DINOProjectionHead(16, 32, 8, 64)
    linears = [m for m in head.layers if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 32), (32, 32), (32, 8)]
    assert sum(isinstance(m, nn.GELU) for m in head.modules()) == 2
    assert not head.last_layer.weight_g.requires_grad
    torch.testing.assert_close(head.last_layer.weight.norm(dim=1), torch.ones(64))
    x = torch.randn(4, 16)
    # By hand: the MLP, L2 normalisation, then rows of unit length.
    z = head.layers(x)
    z = z / z.norm(dim=1, keepdim=True)
    v = head.last_layer.weight_v
    torch.testing.assert_close(head(x), z @ (v / v.norm(dim=1, keepdim=True)).T)
    assert head(x).shape == (4, 64)
    assert DINOProjectionHead(
        16, 32, 8, 64, norm_last_layer=False
    ).last_layer.weight_g.requires_grad
    with_bn = DINOProjectionHead(16, 32, 8, 64, batch_norm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in with_bn.modules()) == 2


def test_dino_head_can_be_copied_for_the_teacher():
    head = DINOProjectionHead(16, 32, 8, 64)
    teacher = copy.deepcopy(head)
    x = torch.randn(3, 16)
    torch.testing.assert_close(teacher(x), head(x))
    names = {name for name, _ in head.named_parameters()}
    assert {"last_layer.weight_g", "last_layer.weight_v"} <= names  # lightly's names


@pytest.mark.parametrize("freeze", [-1, 0, 1, 2])
def test_the_last_layer_is_frozen_while_the_epoch_is_below_freeze_last_layer(freeze):
    torch.manual_seed(0)
    head = DINOProjectionHead(8, 16, 4, 10, freeze_last_layer=freeze, norm_last_layer=False)
    optimizer = torch.optim.SGD(head.parameters(), lr=5.0)
    for epoch in range(4):
        before = [p.clone() for p in head.last_layer.parameters()]
        mlp_before = head.layers[0].weight.clone()
        optimizer.zero_grad()
        head(torch.randn(4, 8)).pow(2).sum().backward()
        head.cancel_last_layer_gradients(epoch)
        optimizer.step()
        changed = [not torch.equal(b, p) for b, p in zip(before, head.last_layer.parameters())]
        assert all(changed) == (epoch >= freeze) and any(changed) == (epoch >= freeze)
        assert not torch.equal(mlp_before, head.layers[0].weight)  # the MLP always trains


def test_dino_transform_makes_two_global_then_local_views():
    transform = DINOTransform(global_crop_size=32, local_crop_size=8)
    views = transform(Image.new("RGB", (100, 100)))
    assert [v.shape for v in views] == [(3, 32, 32)] * 2 + [(3, 8, 8)] * 6
    crops = [view.transform.transforms[1] for view in transform.transforms]
    assert [c.scale for c in crops] == [(0.4, 1.0)] * 2 + [(0.05, 0.4)] * 6
    assert all(c.interpolation == T.InterpolationMode.BICUBIC for c in crops)
    solarized = [
        any(isinstance(s, RandomSolarization) for s in view.transform.transforms)
        for view in transform.transforms
    ]
    assert solarized == [False, True] + [False] * 6  # only the second global view
    jitter = [
        s for s in transform.transforms[1].transform.transforms if isinstance(s, T.RandomApply)
    ]
    assert jitter[0].transforms[0].brightness == (0.6, 1.4)  # 0.5 x 0.8, as the first view's
    assert len(DINOTransform(n_local_views=0)(Image.new("RGB", (64, 64)))) == 2


def test_multi_crop_makes_each_size_its_count_of_times():
    transform = MultiCropTranform([16, 8], [2, 3], [0.5, 0.1], [1.0, 0.5], T.ToTensor())
    views = transform(Image.new("RGB", (40, 40)))
    assert [v.shape[-1] for v in views] == [16, 16, 8, 8, 8]
    with pytest.raises(ValueError, match="one crop size, count"):
        MultiCropTranform([16, 8], [2], [0.5], [1.0], T.ToTensor())


def test_teacher_entropy_is_ln_k_when_uniform_and_0_when_one_hot():
    from lightly_min.monitors import teacher_entropy

    k = 8
    center = torch.zeros(1, 1, k)
    same = torch.full((4, k), 3.0)  # every output equal: the uniform distribution
    assert teacher_entropy(same, center, 0.04).item() == pytest.approx(math.log(k))
    peaked = torch.zeros(4, k)
    peaked[:, 2] = 1.0  # a margin of 1 / 0.01 = 100 in the logits
    assert teacher_entropy(peaked, center, 0.01).item() == pytest.approx(0.0, abs=1e-6)
    # By hand: two outputs, logits (0, ln 3) / 1 -> P = (1/4, 3/4).
    two = torch.tensor([[0.0, math.log(3)]])
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert teacher_entropy(two, torch.zeros(1, 1, 2), 1.0).item() == pytest.approx(expected)
    # The center is subtracted first: it makes these outputs uniform.
    assert teacher_entropy(two, two.reshape(1, 1, 2), 1.0).item() == pytest.approx(math.log(2))


def test_prototypes_in_use_counts_the_distinct_most_probable_outputs():
    from lightly_min.monitors import prototypes_in_use

    out = torch.tensor([[5.0, 0, 0], [4.0, 1.0, 0], [3.0, 0, 2.0], [6.0, 0, 0]])
    assert prototypes_in_use(out) == 1  # output 0 is every row's largest
    center = torch.tensor([[[10.0, 0.5, 0.0]]])  # subtracted first: rows -> 2, 1, 2, 2
    assert prototypes_in_use(out, center) == 2
