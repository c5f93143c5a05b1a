"""Barlow Twins' and VICReg's losses against their papers' equations, written out by hand."""

import math

import pytest
import torch
import torch.distributed

from lightly_min.loss import BarlowTwinsLoss, VICRegLoss
from lightly_min.loss import vicreg_loss as vicreg_module


def columns(z: torch.Tensor) -> list[list[float]]:
    return [list(column) for column in zip(*z.tolist())]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def barlow_twins_by_hand(z_a: torch.Tensor, z_b: torch.Tensor, lambd: float) -> float:
    """Eq. 1-2 of Barlow Twins (arXiv:2103.03230): the cross-correlation of the views, each
    feature standardised over the batch (biased variance + 1e-5, as BatchNorm computes it)."""

    def standardise(column: list[float]) -> list[float]:
        m = mean(column)
        var = mean([(v - m) ** 2 for v in column])
        return [(v - m) / math.sqrt(var + 1e-5) for v in column]

    a, b = map(standardise, columns(z_a)), map(standardise, columns(z_b))
    a, b = list(a), list(b)
    n = len(a[0])
    loss = 0.0
    for i, a_i in enumerate(a):
        for j, b_j in enumerate(b):
            c_ij = sum(x * y for x, y in zip(a_i, b_j)) / n
            loss += (1 - c_ij) ** 2 if i == j else lambd * c_ij**2
    return loss


def vicreg_by_hand(z_a, z_b, lambd=25.0, mu=25.0, nu=1.0, eps=1e-4) -> float:
    """Sec. 3 of VICReg (arXiv:2105.04906), with its code's scaling: the invariance is a mean
    over features too, and the two views' variance terms are averaged."""
    n, d = z_a.shape
    pairs = zip(z_a.flatten().tolist(), z_b.flatten().tolist())
    invariance = mean([(x - y) ** 2 for x, y in pairs])

    def variance(z):
        hinges = []
        for column in columns(z):
            m = mean(column)
            var = sum((v - m) ** 2 for v in column) / (n - 1)
            hinges.append(max(0.0, 1 - math.sqrt(var + eps)))
        return mean(hinges)

    def covariance(z):
        cols = columns(z)
        centred = [[v - mean(c) for v in c] for c in cols]
        total = 0.0
        for i in range(d):
            for j in range(d):
                if i != j:
                    cov = sum(x * y for x, y in zip(centred[i], centred[j])) / (n - 1)
                    total += cov**2
        return total / d

    return (
        lambd * invariance
        + mu * (variance(z_a) + variance(z_b)) / 2
        + nu * (covariance(z_a) + covariance(z_b))
    )


def views(n: int, d: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    z_a = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return z_a, z_a + 0.5 * torch.randn(n, d, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("n, d", [(2, 3), (3, 4), (8, 5), (16, 3)])
@pytest.mark.parametrize("lambd", [5e-3, 0.5])
def test_barlow_twins_matches_the_paper_equation(n, d, lambd):
    z_a, z_b = views(n, d, seed=n * d)
    loss = BarlowTwinsLoss(lambda_param=lambd)(z_a, z_b)
    assert loss.item() == pytest.approx(barlow_twins_by_hand(z_a, z_b, lambd), rel=1e-9)


def test_barlow_twins_default_lambda_is_lightlys():
    assert BarlowTwinsLoss().lambda_param == 5e-3
    assert not BarlowTwinsLoss().gather_distributed


def test_barlow_twins_is_invariant_to_an_affine_map_of_a_view():
    z_a, _ = views(32, 6)
    loss = BarlowTwinsLoss()
    torch.testing.assert_close(loss(z_a, z_a), loss(z_a, 2 * z_a + 4))


def test_barlow_twins_of_identical_decorrelated_views_is_about_zero():
    # Orthogonal, centred features: C is the identity up to eps.
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    assert BarlowTwinsLoss()(z, z).item() == pytest.approx(0.0, abs=1e-4)


def test_barlow_twins_batch_of_two():
    # Each standardised feature of two samples is (+1, -1) or (-1, +1): |C_ij| = 1 (up to eps).
    z_a = torch.tensor([[0.0, 5.0, 1.0], [2.0, 1.0, 3.0]], dtype=torch.float64)
    z_b = torch.tensor([[1.0, 0.0, 4.0], [3.0, 2.0, 0.0]], dtype=torch.float64)
    # Signs a: (-, +, -), b: (-, -, +) on the first sample: C_ii = (+1, -1, -1).
    expected = (0 + 4 + 4) + 0.1 * 6  # diagonal (1 - C_ii)^2, off-diagonal 6 entries of 1
    loss = BarlowTwinsLoss(lambda_param=0.1)(z_a, z_b)
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_barlow_twins_constant_feature_is_finite_and_counts_as_uncorrelated():
    z_a, z_b = views(6, 3)
    z_a[:, 1] = 7.0  # a dead feature: standardised to 0, so C_11 = 0 and it costs exactly 1
    z_a.requires_grad_(True)
    loss = BarlowTwinsLoss()(z_a, z_b)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z_a.grad).all()
    assert loss.item() == pytest.approx(barlow_twins_by_hand(z_a.detach(), z_b, 5e-3), rel=1e-9)
    assert loss.item() > 1.0


def test_barlow_twins_gradient_matches_finite_differences():
    z_a, z_b = views(5, 3)
    z_a.requires_grad_(True)
    z_b.requires_grad_(True)
    assert torch.autograd.gradcheck(BarlowTwinsLoss(lambda_param=0.3), (z_a, z_b))


def test_barlow_twins_under_bfloat16_autocast_is_computed_in_float32():
    z_a, z_b = (z.float() for z in views(16, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = BarlowTwinsLoss()(z_a.bfloat16(), z_b.bfloat16())
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(BarlowTwinsLoss()(z_a, z_b).item(), rel=0.05)


@pytest.mark.parametrize("loss", [BarlowTwinsLoss(), VICRegLoss()], ids=["barlow", "vicreg"])
def test_a_batch_of_one_is_rejected_with_the_fix(loss):
    with pytest.raises(ValueError, match="at least 2 samples.*drop_last"):
        loss(torch.randn(1, 4), torch.randn(1, 4))


@pytest.mark.parametrize("loss", [BarlowTwinsLoss(), VICRegLoss()], ids=["barlow", "vicreg"])
def test_views_of_different_shapes_are_rejected(loss):
    with pytest.raises(ValueError, match=r"same shape.*\(4, 3\) and \(4, 2\)"):
        loss(torch.randn(4, 3), torch.randn(4, 2))


@pytest.mark.parametrize("make", [BarlowTwinsLoss, VICRegLoss], ids=["barlow", "vicreg"])
def test_gather_without_torch_distributed_is_rejected(monkeypatch, make):
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    with pytest.raises(ValueError, match="gather_distributed=False"):
        make(gather_distributed=True)


@pytest.mark.parametrize("make", [BarlowTwinsLoss, VICRegLoss], ids=["barlow", "vicreg"])
def test_gather_in_a_single_process_is_the_plain_loss(make):
    z_a, z_b = views(6, 4)
    torch.testing.assert_close(make(gather_distributed=True)(z_a, z_b), make()(z_a, z_b))


def test_barlow_twins_rejects_a_negative_lambda():
    with pytest.raises(ValueError, match="lambda_param >= 0"):
        BarlowTwinsLoss(lambda_param=-1.0)


@pytest.mark.parametrize("n, d", [(2, 3), (3, 4), (8, 5)])
@pytest.mark.parametrize("coefficients", [(25.0, 25.0, 1.0), (1.0, 2.0, 3.0)])
def test_vicreg_matches_the_paper_equation(n, d, coefficients):
    z_a, z_b = views(n, d, seed=n + d)
    lambd, mu, nu = coefficients
    loss = VICRegLoss(lambda_param=lambd, mu_param=mu, nu_param=nu)(z_a, z_b)
    assert loss.item() == pytest.approx(vicreg_by_hand(z_a, z_b, lambd, mu, nu), rel=1e-9)


def test_vicreg_defaults_are_lightlys():
    loss = VICRegLoss()
    assert (loss.lambda_param, loss.mu_param, loss.nu_param, loss.eps) == (25.0, 25.0, 1.0, 1e-4)
    assert not loss.gather_distributed


def test_vicreg_of_a_constant_embedding_is_the_variance_hinge():
    # Collapse: equal views (no invariance cost), no covariance, every std 0: 25 * (1 - 0.01).
    z = torch.full((8, 5), 3.0)
    assert VICRegLoss()(z, z).item() == pytest.approx(24.75, rel=1e-6)


def test_vicreg_of_a_constant_feature_pays_its_hinge_and_stays_finite():
    z_a, z_b = views(6, 3)
    z_a[:, 0] = z_b[:, 0] = 1.0
    z_a.requires_grad_(True)
    loss = VICRegLoss()(z_a, z_b)
    loss.backward()
    assert torch.isfinite(z_a.grad).all()
    assert loss.item() == pytest.approx(vicreg_by_hand(z_a.detach(), z_b), rel=1e-9)


def test_vicreg_is_symmetric_in_the_views():
    z_a, z_b = views(7, 4)
    torch.testing.assert_close(VICRegLoss()(z_a, z_b), VICRegLoss()(z_b, z_a))


def test_vicreg_with_middle_dimensions_averages_over_them():
    # VICRegL passes (N, locations, D): every term is the mean over the locations.
    generator = torch.Generator().manual_seed(3)
    z_a = torch.randn(6, 3, 4, generator=generator, dtype=torch.float64)
    z_b = torch.randn(6, 3, 4, generator=generator, dtype=torch.float64)
    by_location = [vicreg_by_hand(z_a[:, k], z_b[:, k]) for k in range(3)]
    assert VICRegLoss()(z_a, z_b).item() == pytest.approx(mean(by_location), rel=1e-9)


def test_vicreg_terms_are_lightlys_helper_functions():
    z_a, z_b = views(5, 3)
    by_parts = (
        25 * vicreg_module.invariance_loss(z_a, z_b)
        + 25 * (vicreg_module.variance_loss(z_a) + vicreg_module.variance_loss(z_b)) / 2
        + vicreg_module.covariance_loss(z_a)
        + vicreg_module.covariance_loss(z_b)
    )
    torch.testing.assert_close(by_parts, VICRegLoss()(z_a, z_b))
    # A feature with std >= 1 pays no hinge; uncorrelated (orthogonal) features no covariance.
    z = torch.tensor([[2.0, 2.0], [2.0, -2.0], [-2.0, 2.0], [-2.0, -2.0]])
    assert vicreg_module.variance_loss(z).item() == 0.0
    assert vicreg_module.covariance_loss(z).item() == 0.0


def test_vicreg_gradient_matches_finite_differences():
    z_a, z_b = views(5, 3)
    z_a.requires_grad_(True)
    z_b.requires_grad_(True)
    assert torch.autograd.gradcheck(VICRegLoss(), (z_a, z_b))
