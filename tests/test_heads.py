import pytest
import torch
from torch import nn

from lightly_min.models.modules import (
    BarlowTwinsProjectionHead,
    ProjectionHead,
    SimCLRProjectionHead,
    SimSiamPredictionHead,
    SimSiamProjectionHead,
)
from lightly_min.models.modules.heads import VICRegProjectionHead


def layer_types(head: ProjectionHead) -> list[type]:
    return [type(layer) for layer in head.layers]


def linears(head: ProjectionHead) -> list[nn.Linear]:
    return [layer for layer in head.layers if isinstance(layer, nn.Linear)]


def batch_norms(head: ProjectionHead) -> list[nn.BatchNorm1d]:
    return [layer for layer in head.layers if isinstance(layer, nn.BatchNorm1d)]


L, BN, R = nn.Linear, nn.BatchNorm1d, nn.ReLU


def test_simsiam_projection_head_structure():
    head = SimSiamProjectionHead(input_dim=16, hidden_dim=32, output_dim=8)
    assert layer_types(head) == [L, BN, R, L, BN, R, L, BN]
    assert [(lin.in_features, lin.out_features) for lin in linears(head)] == [
        (16, 32),
        (32, 32),
        (32, 8),
    ]
    assert all(lin.bias is None for lin in linears(head))  # every Linear is followed by BN
    assert [bn.affine for bn in batch_norms(head)] == [True, True, False]
    assert head(torch.randn(4, 16)).shape == (4, 8)


def test_simsiam_prediction_head_structure():
    head = SimSiamPredictionHead(input_dim=8, hidden_dim=4, output_dim=8)
    assert layer_types(head) == [L, BN, R, L]
    first, last = linears(head)
    assert (first.in_features, first.out_features, first.bias) == (8, 4, None)
    assert (last.in_features, last.out_features) == (4, 8) and last.bias is not None
    assert batch_norms(head)[0].affine
    assert head(torch.randn(3, 8)).shape == (3, 8)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_simclr_projection_head_structure(num_layers):
    head = SimCLRProjectionHead(input_dim=12, hidden_dim=10, output_dim=6, num_layers=num_layers)
    assert layer_types(head) == [L, BN, R] * (num_layers - 1) + [L, BN]
    dims = [12] + [10] * (num_layers - 1) + [6]
    assert [(lin.in_features, lin.out_features) for lin in linears(head)] == list(
        zip(dims, dims[1:])
    )
    assert all(lin.bias is None for lin in linears(head))
    assert all(bn.affine for bn in batch_norms(head))
    assert head(torch.randn(5, 12)).shape == (5, 6)


def test_simclr_projection_head_without_batch_norm_has_biases():
    head = SimCLRProjectionHead(input_dim=12, hidden_dim=10, output_dim=6, batch_norm=False)
    assert layer_types(head) == [L, R, L]
    assert all(lin.bias is not None for lin in linears(head))


def test_default_dimensions_follow_lightly():
    dims = lambda head: [(lin.in_features, lin.out_features) for lin in linears(head)]  # noqa: E731
    assert dims(SimSiamProjectionHead()) == [(2048, 2048), (2048, 2048), (2048, 2048)]
    assert dims(SimSiamPredictionHead()) == [(2048, 512), (512, 2048)]
    assert dims(SimCLRProjectionHead()) == [(2048, 2048), (2048, 128)]
    assert dims(BarlowTwinsProjectionHead()) == [(2048, 8192), (8192, 8192), (8192, 8192)]
    assert dims(VICRegProjectionHead()) == [(2048, 8192), (8192, 8192), (8192, 8192)]


def test_barlow_twins_projection_head_structure():
    head = BarlowTwinsProjectionHead(input_dim=12, hidden_dim=10, output_dim=6)
    assert layer_types(head) == [L, BN, R, L, BN, R, L]
    assert [lin.bias is None for lin in linears(head)] == [True, True, False]
    assert head(torch.randn(3, 12)).shape == (3, 6)


@pytest.mark.parametrize("num_layers", [2, 3, 4])
def test_vicreg_projection_head_structure(num_layers):
    head = VICRegProjectionHead(input_dim=12, hidden_dim=10, output_dim=6, num_layers=num_layers)
    assert layer_types(head) == [L, BN, R] * (num_layers - 1) + [L]
    dims = [12] + [10] * (num_layers - 1) + [6]
    assert [(lin.in_features, lin.out_features) for lin in linears(head)] == list(
        zip(dims, dims[1:])
    )
    assert linears(head)[-1].bias is not None
    assert head(torch.randn(3, 12)).shape == (3, 6)


def test_vicreg_projection_head_needs_two_layers():
    with pytest.raises(ValueError, match="num_layers >= 2"):
        VICRegProjectionHead(num_layers=1)


def test_projection_head_blocks_and_explicit_bias():
    head = ProjectionHead([(4, 3, nn.BatchNorm1d(3), nn.ReLU(), True), (3, 2, None, None)])
    assert layer_types(head) == [L, BN, R, L]
    assert all(lin.bias is not None for lin in linears(head))


def test_projection_head_computes_its_layers():
    head = ProjectionHead([(3, 2, None, nn.ReLU()), (2, 1, None, None)])
    first, second = linears(head)
    x = torch.randn(4, 3)
    expected = torch.relu(x @ first.weight.T + first.bias) @ second.weight.T + second.bias
    torch.testing.assert_close(head(x), expected)


def test_blocks_that_do_not_chain_are_rejected():
    with pytest.raises(ValueError, match="outputs 8 features but the next expects 9"):
        ProjectionHead([(4, 8, None, None), (9, 2, None, None)])


def test_wrong_feature_width_names_expected_and_got():
    head = SimSiamProjectionHead(input_dim=2048)
    with pytest.raises(ValueError, match=r"width 2048, got 512.*input_dim=512"):
        head(torch.randn(4, 512))


def test_unflattened_backbone_output_is_rejected():
    head = SimCLRProjectionHead(input_dim=512)
    with pytest.raises(ValueError, match=r"\(4, 512, 1, 1\).*[Ff]latten"):
        head(torch.randn(4, 512, 1, 1))


def test_single_sample_batch_norm_in_training_is_rejected_but_eval_works():
    head = SimSiamPredictionHead(input_dim=8, hidden_dim=4, output_dim=8)
    with pytest.raises(ValueError, match="at least 2 samples"):
        head(torch.randn(1, 8))
    assert head.eval()(torch.randn(1, 8)).shape == (1, 8)
