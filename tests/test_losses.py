import math

import pytest
import torch
import torch.distributed

from lightly_min.loss import NegativeCosineSimilarity, NTXentLoss


def cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def ntxent_by_hand(z0: torch.Tensor, z1: torch.Tensor, temperature: float) -> float:
    """Eq. 1 of SimCLR (arXiv:2002.05709), looped over the 2N anchors in plain Python."""
    embeddings = z0.tolist() + z1.tolist()
    n = len(z0)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)  # the other view of the same image
        numerator = math.exp(cos(embeddings[i], embeddings[j]) / temperature)
        denominator = sum(
            math.exp(cos(embeddings[i], embeddings[k]) / temperature)
            for k in range(2 * n)
            if k != i
        )
        total += -math.log(numerator / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("batch_size", [2, 3, 8])
def test_ntxent_matches_the_paper_formula(temperature, batch_size):
    generator = torch.Generator().manual_seed(batch_size)
    z0 = torch.randn(batch_size, 5, generator=generator, dtype=torch.float64)
    z1 = torch.randn(batch_size, 5, generator=generator, dtype=torch.float64)
    loss = NTXentLoss(temperature=temperature)(z0, z1)
    assert loss.item() == pytest.approx(ntxent_by_hand(z0, z1, temperature), rel=1e-9)


def test_ntxent_is_symmetric_in_the_views():
    z0, z1 = torch.randn(6, 4), torch.randn(6, 4)
    loss = NTXentLoss()
    torch.testing.assert_close(loss(z0, z1), loss(z1, z0))


def test_ntxent_is_lower_for_aligned_views_than_for_random_ones():
    torch.manual_seed(0)
    z0 = torch.randn(16, 32)
    aligned = NTXentLoss()(z0, z0 + 0.05 * torch.randn(16, 32))
    random = NTXentLoss()(z0, torch.randn(16, 32))
    assert aligned < random - 1.0


def test_ntxent_known_value_for_orthogonal_pairs():
    # Two images, views identical, images orthogonal: every anchor sees its positive at
    # similarity 1 and two negatives at similarity 0, so l = -log(e^(1/t) / (e^(1/t) + 2)).
    z = torch.eye(2, 3)
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert NTXentLoss(temperature=t)(z, z).item() == pytest.approx(expected, rel=1e-6)


def test_ntxent_gradient_matches_finite_differences():
    z0 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z1 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(NTXentLoss(temperature=0.3), (z0, z1))


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_ntxent_rejects_non_positive_temperature(temperature):
    with pytest.raises(ValueError, match="temperature > 0"):
        NTXentLoss(temperature=temperature)


def test_ntxent_rejects_views_of_different_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(4, 8\) and \(4, 7\)"):
        NTXentLoss()(torch.randn(4, 8), torch.randn(4, 7))
    with pytest.raises(ValueError, match="same shape"):
        NTXentLoss()(torch.randn(4, 8), torch.randn(5, 8))


def test_ntxent_of_a_single_sample_is_zero_without_gradient_as_in_lightly():
    # One image: its other view is the only candidate, so -log(e^s / e^s) = 0 for any s.
    z0 = torch.randn(1, 8, requires_grad=True)
    loss = NTXentLoss()(z0, torch.randn(1, 8))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(z0.grad, torch.zeros_like(z0))


def test_ntxent_gather_without_torch_distributed_is_rejected(monkeypatch):
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    with pytest.raises(ValueError, match="gather_distributed=True.*torch.distributed"):
        NTXentLoss(gather_distributed=True)


def test_ntxent_gather_in_a_single_process_is_the_plain_loss():
    z0, z1 = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(NTXentLoss(gather_distributed=True)(z0, z1), NTXentLoss()(z0, z1))


def test_negative_cosine_similarity_is_minus_the_mean_cosine():
    x0, x1 = torch.randn(5, 7, dtype=torch.float64), torch.randn(5, 7, dtype=torch.float64)
    expected = -sum(cos(a, b) for a, b in zip(x0.tolist(), x1.tolist())) / 5
    assert NegativeCosineSimilarity()(x0, x1).item() == pytest.approx(expected, rel=1e-12)


def test_negative_cosine_similarity_along_dim_0():
    x0, x1 = torch.randn(7, 3, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    expected = -sum(cos(a, b) for a, b in zip(x0.T.tolist(), x1.T.tolist())) / 3
    assert NegativeCosineSimilarity(dim=0)(x0, x1).item() == pytest.approx(expected, rel=1e-12)


def test_negative_cosine_similarity_of_parallel_vectors_is_minus_one():
    x = torch.randn(4, 6)
    assert NegativeCosineSimilarity()(x, 3 * x).item() == pytest.approx(-1.0, abs=1e-6)
    assert NegativeCosineSimilarity()(x, -x).item() == pytest.approx(1.0, abs=1e-6)


def test_negative_cosine_similarity_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(4, 8\) and \(4, 16\)"):
        NegativeCosineSimilarity()(torch.randn(4, 8), torch.randn(4, 16))
