import math

import pytest
import torch

from lightly_min.utils.debug import std_of_l2_normalized


def test_std_of_two_orthogonal_unit_vectors_by_hand():
    # Rows e0 and e1 (already unit length). Per dimension the values are {1, 0}: mean 1/2,
    # sample variance ((1/2)^2 + (1/2)^2) / (2 - 1) = 1/2, so the std is sqrt(1/2) in both.
    z = torch.tensor([[3.0, 0.0], [0.0, 0.5]])  # normalising makes them e0 and e1
    assert std_of_l2_normalized(z).item() == pytest.approx(math.sqrt(0.5))


def test_collapsed_outputs_have_zero_std():
    z = torch.tensor([[1.0, 2.0, 2.0]]).repeat(16, 1) * torch.arange(1, 17.0)[:, None]
    assert std_of_l2_normalized(z).item() == pytest.approx(0.0, abs=1e-6)


def test_isotropic_gaussian_outputs_are_near_one_over_sqrt_d():
    generator = torch.Generator().manual_seed(0)
    for dim in (128, 2048):
        z = torch.randn(4096, dim, generator=generator)
        assert std_of_l2_normalized(z).item() == pytest.approx(1 / math.sqrt(dim), rel=0.02)


def test_needs_a_batch_of_vectors():
    with pytest.raises(ValueError, match=r"\(N, D\) with N >= 2"):
        std_of_l2_normalized(torch.randn(1, 8))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        std_of_l2_normalized(torch.randn(4, 8, 2))
