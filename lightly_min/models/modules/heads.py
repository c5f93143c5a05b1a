"""Projection and prediction heads: small MLPs that sit on top of a backbone.

A head is a stack of blocks; each block is ``(in_dim, out_dim, batch_norm, activation)``, i.e.
``Linear -> [BatchNorm] -> [activation]``. A Linear followed by BatchNorm has no bias: the
BatchNorm's shift makes it redundant. An optional fifth element ``use_bias`` overrides that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

Block = (
    tuple[int, int, nn.Module | None, nn.Module | None]
    | tuple[int, int, nn.Module | None, nn.Module | None, bool]
)


class ProjectionHead(nn.Module):
    """An MLP built from ``(in_dim, out_dim, batch_norm, activation)`` blocks.

    Args:
        blocks: One tuple ``(in_dim, out_dim, batch_norm, activation[, use_bias])`` per layer.
            ``batch_norm`` and ``activation`` are modules or ``None``; ``use_bias`` defaults to
            ``batch_norm is None``. Consecutive blocks must chain: the ``out_dim`` of one is the
            ``in_dim`` of the next.

    Shapes:
        ``(N, blocks[0].in_dim) -> (N, blocks[-1].out_dim)``.

    Example:
        >>> blocks = [(512, 256, nn.BatchNorm1d(256), nn.ReLU()), (256, 128, None, None)]
        >>> ProjectionHead(blocks)(torch.randn(4, 512)).shape
        torch.Size([4, 128])
    """

    def __init__(self, blocks: Sequence[Block]) -> None:
        super().__init__()
        if not blocks:
            raise ValueError("ProjectionHead needs at least one block (in_dim, out_dim, bn, act).")
        for block, next_block in zip(blocks, blocks[1:]):
            out_dim, in_dim = block[1], next_block[0]
            if out_dim != in_dim:
                raise ValueError(
                    f"ProjectionHead blocks do not chain: a block outputs {out_dim} features but "
                    f"the next expects {in_dim}. Make each out_dim equal to the next in_dim."
                )
        layers: list[nn.Module] = []
        for in_dim, out_dim, batch_norm, activation, *use_bias in blocks:
            bias = use_bias[0] if use_bias else batch_norm is None
            layers.append(nn.Linear(in_dim, out_dim, bias=bias))
            if batch_norm is not None:
                layers.append(batch_norm)
            if activation is not None:
                layers.append(activation)
        self.layers = nn.Sequential(*layers)
        self.input_dim = blocks[0][0]
        self.output_dim = blocks[-1][1]
        self._uses_batch_norm = any(block[2] is not None for block in blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Maps features ``(N, input_dim)`` to ``(N, output_dim)``."""
        name = type(self).__name__
        if x.dim() != 2:
            raise ValueError(
                f"{name} expects a 2-D tensor (batch, features), got shape {tuple(x.shape)}. "
                "Flatten the backbone's output first, e.g. backbone(x).flatten(start_dim=1)."
            )
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"{name} expects features of width {self.input_dim}, got {x.shape[1]}. "
                f"Build the head with input_dim={x.shape[1]} to match your backbone."
            )
        if self.training and x.shape[0] < 2 and self._uses_batch_norm:
            raise ValueError(
                f"{name} uses BatchNorm and needs at least 2 samples per batch in training mode, "
                "got 1. Use a larger batch (and drop_last=True in the DataLoader), or call .eval()."
            )
        return self.layers(x)


class SimSiamProjectionHead(ProjectionHead):
    """SimSiam's projection MLP (Chen & He, 2020, arXiv:2011.10566, Sec. 4).

    ``Linear-BN-ReLU, Linear-BN-ReLU, Linear-BN``; the output BatchNorm has no affine
    parameters, as in the paper's reference code.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(self, input_dim: int = 2048, hidden_dim: int = 2048, output_dim: int = 2048):
        super().__init__(
            [
                (input_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, output_dim, nn.BatchNorm1d(output_dim, affine=False), None),
            ]
        )


class SimSiamPredictionHead(ProjectionHead):
    """SimSiam's prediction MLP, a bottleneck (Chen & He, 2020, arXiv:2011.10566, Sec. 4).

    ``Linear-BN-ReLU``, then a Linear with bias and no BatchNorm on the output (the paper's
    Table 3 shows BN on the predictor output makes training unstable).

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(self, input_dim: int = 2048, hidden_dim: int = 512, output_dim: int = 2048):
        super().__init__(
            [
                (input_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, output_dim, None, None),
            ]
        )


class SimCLRProjectionHead(ProjectionHead):
    """SimCLR's projection MLP (Chen et al., 2020, arXiv:2002.05709; deeper and with BN in v2,
    arXiv:2006.10029).

    ``(num_layers - 1) x [Linear-BN-ReLU]``, then ``Linear-BN``. With ``batch_norm=False`` the
    BatchNorms are left out and the Linear layers get a bias.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 2048,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = True,
    ):
        if num_layers < 1:
            raise ValueError(f"SimCLRProjectionHead needs num_layers >= 1, got {num_layers}.")
        dims = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        blocks: list[Block] = [
            (d_in, d_out, nn.BatchNorm1d(d_out) if batch_norm else None, nn.ReLU(inplace=True))
            for d_in, d_out in zip(dims[:-2], dims[1:-1])
        ]
        blocks.append(
            (dims[-2], output_dim, nn.BatchNorm1d(output_dim) if batch_norm else None, None)
        )
        super().__init__(blocks)


class MoCoProjectionHead(ProjectionHead):
    """MoCo's projection MLP: v2's head (Chen et al., 2020, arXiv:2003.04297, Sec. 3) by default.

    ``(num_layers - 1) x [Linear-ReLU]``, then a Linear, all with bias: a 2-layer MLP with a
    2048-d hidden layer on a ResNet-50, as v2 has it. With ``batch_norm=True`` every Linear is
    followed by BatchNorm and has no bias: MoCo v3's head (arXiv:2104.02057, Sec. 4) is
    ``hidden_dim=4096, output_dim=256, num_layers=3, batch_norm=True``.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 2048,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = False,
    ):
        if num_layers < 2:
            raise ValueError(
                f"MoCoProjectionHead needs num_layers >= 2, got {num_layers}: one hidden "
                "Linear-ReLU block and the output Linear."
            )
        dims = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        blocks: list[Block] = [
            (d_in, d_out, nn.BatchNorm1d(d_out) if batch_norm else None, nn.ReLU(inplace=True))
            for d_in, d_out in zip(dims[:-2], dims[1:-1])
        ]
        blocks.append(
            (dims[-2], output_dim, nn.BatchNorm1d(output_dim) if batch_norm else None, None)
        )
        super().__init__(blocks)


class BYOLProjectionHead(ProjectionHead):
    """BYOL's projection MLP (Grill et al., 2020, arXiv:2006.07733, Sec. 3.3).

    ``Linear-BN-ReLU`` to ``hidden_dim``, then a Linear with bias to ``output_dim``.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(self, input_dim: int = 2048, hidden_dim: int = 4096, output_dim: int = 256):
        super().__init__(
            [
                (input_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, output_dim, None, None),
            ]
        )


class BYOLPredictionHead(ProjectionHead):
    """BYOL's predictor, the same MLP shape as :class:`BYOLProjectionHead` (Sec. 3.3).

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(self, input_dim: int = 256, hidden_dim: int = 4096, output_dim: int = 256):
        super().__init__(
            [
                (input_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, output_dim, None, None),
            ]
        )


class BarlowTwinsProjectionHead(ProjectionHead):
    """Barlow Twins' projector (Zbontar et al., 2021, arXiv:2103.03230, Sec. 2).

    ``Linear-BN-ReLU, Linear-BN-ReLU``, then a Linear with bias. The paper's projector is
    8192-8192-8192 on a 2048-d ResNet-50; its accuracy still rose with the width at 16,384
    (Fig. 4), and so does the cost of the loss's ``(D, D)`` cross-correlation.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(self, input_dim: int = 2048, hidden_dim: int = 8192, output_dim: int = 8192):
        super().__init__(
            [
                (input_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, hidden_dim, nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True)),
                (hidden_dim, output_dim, None, None),
            ]
        )


class VICRegProjectionHead(ProjectionHead):
    """VICReg's expander (Bardes et al., 2022, arXiv:2105.04906, Sec. 4.2).

    ``(num_layers - 1) x [Linear-BN-ReLU]``, then a Linear with bias. The paper's expander has
    three layers of 8192 on a 2048-d ResNet-50.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 8192,
        output_dim: int = 8192,
        num_layers: int = 3,
    ):
        if num_layers < 2:
            raise ValueError(
                f"VICRegProjectionHead needs num_layers >= 2, got {num_layers}: one hidden "
                "Linear-BN-ReLU block and the output Linear."
            )
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        blocks: list[Block] = [
            (d_in, d_out, nn.BatchNorm1d(d_out), nn.ReLU(inplace=True))
            for d_in, d_out in zip(dims, dims[1:])
        ]
        blocks.append((hidden_dim, output_dim, None, None))
        super().__init__(blocks)


class WeightNormLinear(nn.Module):
    """A linear layer without bias whose weight is written as a length times a direction,
    ``W = g * V / |V|`` row by row (Salimans & Kingma, 2016, arXiv:1602.07868), with
    ``torch.nn.utils.weight_norm``'s parameter names ``weight_g`` ``(out, 1)`` and
    ``weight_v`` ``(out, in)``. Unlike that function's layer, it can be copied with
    ``copy.deepcopy``.

    Shapes: ``(N, in_features) -> (N, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        v = nn.Linear(in_features, out_features, bias=False).weight.detach()
        self.weight_v = nn.Parameter(v.clone())
        self.weight_g = nn.Parameter(v.norm(dim=1, keepdim=True))

    @property
    def weight(self) -> torch.Tensor:
        return self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight)


class DINOProjectionHead(ProjectionHead):
    """DINO's head (Caron et al., 2021, arXiv:2104.14294, Sec. 3.1 and App.): a 3-layer MLP
    ``Linear-[BN]-GELU, Linear-[BN]-GELU, Linear`` to a ``bottleneck_dim`` bottleneck,
    L2 normalisation, then a weight-normalised linear layer without bias to ``output_dim``
    (:class:`WeightNormLinear`, the paper's ``K`` dimensions). With ``norm_last_layer`` the
    lengths ``g`` of its rows stay 1 (not trained); the reference code's help
    (``main_dino.py``) says that training them can perform better but be unstable.
    Weights start from a truncated normal with standard deviation 0.02, biases at 0.

    ``freeze_last_layer``: :meth:`cancel_last_layer_gradients` drops the last layer's
    gradients while the epoch is below it; the reference code freezes it in the first epoch.
    Call it on the student between ``backward()`` and ``optimizer.step()``.

    Shapes: ``(N, input_dim) -> (N, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        output_dim: int = 65536,
        batch_norm: bool = False,
        freeze_last_layer: int = -1,
        norm_last_layer: bool = True,
    ):
        def norm(dim: int) -> nn.Module | None:
            return nn.BatchNorm1d(dim) if batch_norm else None

        super().__init__(
            [
                (input_dim, hidden_dim, norm(hidden_dim), nn.GELU()),
                (hidden_dim, hidden_dim, norm(hidden_dim), nn.GELU()),
                (hidden_dim, bottleneck_dim, None, None),
            ]
        )
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02, a=-2.0, b=2.0)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        self.freeze_last_layer = freeze_last_layer
        self.last_layer = WeightNormLinear(bottleneck_dim, output_dim)
        self.last_layer.weight_g.data.fill_(1.0)
        self.last_layer.weight_g.requires_grad = not norm_last_layer
        self.output_dim = output_dim

    def cancel_last_layer_gradients(self, current_epoch: int) -> None:
        """Drops the last layer's gradients while ``current_epoch < freeze_last_layer``."""
        if current_epoch >= self.freeze_last_layer:
            return
        for parameter in self.last_layer.parameters():
            parameter.grad = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Maps features ``(N, input_dim)`` to ``(N, output_dim)``."""
        x = super().forward(x)
        return self.last_layer(nn.functional.normalize(x, dim=-1))
