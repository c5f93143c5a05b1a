"""MoCo's pieces: the queue, InfoNCE over it, the head, the transform and the batch shuffle."""

import math

import pytest
import torch
from PIL import Image
from torch import nn

from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import MoCoProjectionHead
from lightly_min.models.modules.memory_bank import MemoryBankModule
from lightly_min.models.utils import batch_shuffle, batch_unshuffle
from lightly_min.transforms.moco_transform import MoCoV2Transform


def unit(x):
    return x / x.norm(dim=1, keepdim=True)


def infonce_by_hand(q, k, queue, t):
    """MoCo's Eq. 1, one query at a time: queue is (K, D); all rows unit vectors."""
    losses = []
    for qi, ki in zip(q.tolist(), k.tolist()):
        pos = math.exp(sum(a * b for a, b in zip(qi, ki)) / t)
        neg = sum(math.exp(sum(a * b for a, b in zip(qi, kj)) / t) for kj in queue.tolist())
        losses.append(-math.log(pos / (pos + neg)))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("temperature", [0.07, 0.2, 1.0])
def test_infonce_with_a_queue_matches_the_equation_and_uses_the_queue_before_the_batch(
    temperature,
):
    torch.manual_seed(0)
    loss = NTXentLoss(temperature=temperature, memory_bank_size=(5, 3))
    queue = loss.memory_bank.bank.clone()  # (K, D) random unit vectors
    torch.testing.assert_close(queue.norm(dim=1), torch.ones(5))
    q, k = torch.randn(2, 3, requires_grad=True), torch.randn(2, 3)
    value = loss(q, k)
    expected = infonce_by_hand(unit(q.detach()), unit(k), queue, temperature)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # Then the keys (normalised) are the queue's first entries, the rest untouched.
    torch.testing.assert_close(loss.memory_bank.bank[:2], unit(k))
    torch.testing.assert_close(loss.memory_bank.bank[2:], queue[2:])
    # The next batch is scored against the updated queue.
    q2, k2 = torch.randn(2, 3, requires_grad=True), torch.randn(2, 3)
    expected2 = infonce_by_hand(unit(q2.detach()), unit(k2), loss.memory_bank.bank, temperature)
    assert loss(q2, k2).item() == pytest.approx(expected2, rel=1e-5)


def test_infonce_of_identical_embeddings_is_log_of_queue_plus_one():
    # Every logit equal: the positive is one of K + 1 equally likely candidates.
    loss = NTXentLoss(memory_bank_size=(7, 2))
    loss.memory_bank.bank[:] = torch.tensor([1.0, 0.0])
    x = torch.tensor([[2.0, 0.0]] * 3, requires_grad=True)
    assert loss(x, x.detach()).item() == pytest.approx(math.log(8))


def test_evaluation_does_not_change_the_queue():
    loss = NTXentLoss(memory_bank_size=(4, 2))
    before = loss.memory_bank.bank.clone()
    with torch.no_grad():
        loss(torch.randn(2, 2), torch.randn(2, 2))
    assert torch.equal(loss.memory_bank.bank, before)


def test_queue_is_first_in_first_out_and_drops_what_overflows_as_lightly():
    bank = MemoryBankModule(size=(5, 2), feature_dim_first=False)
    x = [torch.full((3, 2), float(i)) for i in (1, 2, 3)]
    out, before = bank(x[0], update=True)
    assert out is x[0] and before.shape == (5, 2)
    assert torch.equal(bank.bank[:3], x[0])
    _, before = bank(x[1], update=True)
    assert torch.equal(before[:3], x[0])  # returned as it was before the second batch
    # 3 + 3 > 5: the tail is filled with x1's first 2 rows, x1's last row is dropped.
    assert torch.equal(bank.bank[3:], x[1][:2]) and int(bank.bank_ptr) == 0
    bank(x[2], update=True)
    assert torch.equal(bank.bank[:3], x[2]) and torch.equal(bank.bank[3:], x[1][:2])


def test_queue_is_returned_feature_dimension_first_by_default():
    bank = MemoryBankModule(size=(5, 2))
    x = torch.randn(3, 2)
    bank(x, update=True)
    _, queue = bank(torch.randn(3, 2))
    assert queue.shape == (2, 5) and torch.equal(queue[:, :3], x.T)


def test_queue_sizes_lightly_rejects_or_warns_about():
    with pytest.raises(ValueError, match="Illegal memory bank size"):
        MemoryBankModule(size=-1)
    with pytest.raises(ValueError, match="Illegal memory bank size"):
        MemoryBankModule(size=(10, -1))
    with pytest.warns(UserWarning, match="does not specify feature dimension"):
        bank = MemoryBankModule(size=6)
    _, queue = bank(torch.randn(2, 3))  # its dimension comes from the first batch
    assert queue.shape == (3, 6)
    assert MemoryBankModule(size=0)(torch.randn(2, 3))[1] is None


def test_queue_of_another_dimension_is_one_clear_error():
    loss = NTXentLoss(memory_bank_size=(8, 4))
    with pytest.raises(ValueError, match=r"size=\(K, 3\)"):
        loss(torch.randn(2, 3), torch.randn(2, 3))


def test_queue_and_pointer_are_saved_and_restored():
    a = NTXentLoss(memory_bank_size=(6, 2))
    a(torch.randn(4, 2, requires_grad=True), torch.randn(4, 2))
    b = NTXentLoss(memory_bank_size=(6, 2))
    b.load_state_dict(a.state_dict())
    assert torch.equal(b.memory_bank.bank, a.memory_bank.bank)
    assert int(b.memory_bank.bank_ptr) == 4
    # A lazily sized queue takes the checkpoint's shape; a loss without a queue saves none.
    with pytest.warns(UserWarning):
        lazy = NTXentLoss(memory_bank_size=6)
    lazy.load_state_dict(a.state_dict())
    assert torch.equal(lazy.memory_bank.bank, a.memory_bank.bank)
    assert NTXentLoss().state_dict() == {}


def test_moco_head_is_v2s_mlp_by_default_and_v3s_with_batch_norm():
    head = MoCoProjectionHead()
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2048, 2048), (2048, 128)]
    assert all(m.bias is not None for m in linears)
    assert sum(isinstance(m, nn.ReLU) for m in head.modules()) == 1
    v3 = MoCoProjectionHead(2048, 4096, 256, num_layers=3, batch_norm=True)
    linears = [m for m in v3.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [4096, 4096, 256]
    assert all(m.bias is None for m in linears)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in v3.modules()) == 3
    assert v3(torch.randn(4, 2048)).shape == (4, 256)
    with pytest.raises(ValueError, match="num_layers >= 2"):
        MoCoProjectionHead(num_layers=1)


def test_moco_v2_transform_has_the_reference_codes_settings():
    transform = MoCoV2Transform(input_size=32)
    views = transform(Image.new("RGB", (100, 100)))
    assert [v.shape for v in views] == [(3, 32, 32)] * 2
    text = repr(transform)
    assert "scale=(0.2, 1.0)" in text
    assert "brightness=(0.6, 1.4)" in text and "hue=(-0.1, 0.1)" in text


def test_batch_shuffle_permutes_and_unshuffle_restores():
    torch.manual_seed(0)
    x = torch.arange(10.0).view(10, 1)
    shuffled, permutation = batch_shuffle(x)
    assert not torch.equal(shuffled, x)
    assert sorted(shuffled.flatten().tolist()) == x.flatten().tolist()
    assert torch.equal(batch_unshuffle(shuffled, permutation), x)
    # What the encoder computes on the shuffled batch comes back to each sample.
    assert torch.equal(batch_unshuffle(2 * shuffled, permutation), 2 * x)
