"""SimSiam, FastSiam and SimCLR assembled as in ``examples/pytorch``, from either library.

lightly_min keeps lightly's names and import paths, so the same code builds a model from
``lightly_min`` or from ``lightly`` (only installed for the benchmarks): heads from
``<library>.models.modules``, losses from ``<library>.loss``, transforms from
``<library>.transforms``. A :class:`Recipe` holds every setting of one training run.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torchvision.models.resnet import BasicBlock

METHODS = ("simsiam", "fastsiam", "simclr")
LIBRARIES = ("lightly_min", "lightly")
BACKBONES = ("resnet18", "resnet18-cifar", "resnet18-half")


@dataclass(frozen=True)
class Recipe:
    """Every setting of a self-supervised training run.

    ``transform`` holds keyword arguments of the library's transform class (e.g.
    ``SimSiamTransform``) besides ``input_size`` and ``num_views``. ``lr`` is per 256 images,
    scaled by ``batch_size / 256`` as in the examples.
    """

    method: str
    backbone: str = "resnet18"
    input_size: int = 28
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.06
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    proj_hidden_dim: int = 2048
    proj_output_dim: int = 2048
    pred_hidden_dim: int = 512
    pred_lr_factor: float = 1.0
    temperature: float = 0.5
    num_views: int = 2
    transform: dict[str, Any] = field(default_factory=dict)
    bf16: bool = True
    channels_last: bool = True
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown method {self.method!r}; choose one of {METHODS}.")
        if self.backbone not in BACKBONES:
            raise ValueError(f"Unknown backbone {self.backbone!r}; choose one of {BACKBONES}.")
        if self.method == "fastsiam" and self.num_views < 3:
            raise ValueError("FastSiam needs num_views >= 3 (the examples use 4).")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; choose 'sgd' or 'adamw'.")
        if self.method != "fastsiam" and self.num_views != 2:
            raise ValueError(f"{self.method} uses 2 views, got num_views={self.num_views}.")

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some settings changed (``transform`` changes are merged, not replaced)."""
        if "transform" in changes:
            changes["transform"] = {**self.transform, **changes["transform"]}
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-serialisable values."""
        return dataclasses.asdict(self)


def import_library(library: str) -> dict[str, Any]:
    """The ``models.modules``, ``loss`` and ``transforms`` modules of ``library``."""
    if library not in LIBRARIES:
        raise ValueError(f"Unknown library {library!r}; choose one of {LIBRARIES}.")
    try:
        return {
            part: importlib.import_module(f"{library}.{part}")
            for part in ("models.modules", "loss", "transforms")
        }
    except ImportError as error:
        raise SystemExit(
            f"Cannot import {library} ({error}). The speed comparison needs the lightly package, "
            "which only the benchmark environment has: run nox -s bench, or "
            "pip install -r benchmarks/requirements.txt in a separate virtual environment."
        ) from error


def build_backbone(name: str) -> tuple[nn.Module, int]:
    """A ResNet-18 without its classifier, and its feature width.

    ``resnet18`` is torchvision's network as it is (7x7 stride-2 stem and max-pool: a 28 px
    digit is 7x7 after the stem), 512 features. ``resnet18-cifar`` is the examples' CIFAR
    variant: a 3x3 stride-1 first convolution and no max-pool, so 32 px images keep their
    resolution (about 16x the computation of ``resnet18``). ``resnet18-half`` is ``resnet18``
    at half the width (32, 64, 128, 256 channels; 256 features): about a quarter of the
    multiply-adds; in the tuning log an epoch takes less than half as long (c1 against c7).
    """
    if name == "resnet18-half":
        return half_width_resnet18(), 256
    resnet = torchvision.models.resnet18()
    if name == "resnet18-cifar":
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    elif name != "resnet18":
        raise ValueError(f"Unknown backbone {name!r}; choose one of {BACKBONES}.")
    resnet.fc = nn.Identity()
    return resnet, 512


def half_width_resnet18(width: int = 32) -> nn.Sequential:
    """torchvision's ResNet-18 layout (stem, 4 stages of 2 basic blocks) with stage widths
    ``width * (1, 2, 4, 8)``, initialised as torchvision initialises its ResNets."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    ]
    channels = width
    for stage in range(4):
        out, stride = width * 2**stage, 1 if stage == 0 else 2
        shortcut = None
        if stride != 1 or channels != out:
            shortcut = nn.Sequential(
                nn.Conv2d(channels, out, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out),
            )
        layers += [BasicBlock(channels, out, stride, shortcut), BasicBlock(out, out)]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    network = nn.Sequential(*layers)
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return network


class SiameseModel(nn.Module):
    """Backbone, projection head and (SimSiam, FastSiam) prediction head, with the method's loss.

    ``forward`` maps images to what the loss compares: ``(z.detach(), p)`` for SimSiam and
    FastSiam (stop-gradient on the projection), the projection ``z`` for SimCLR.
    """

    def __init__(self, recipe: Recipe, library: str = "lightly_min") -> None:
        super().__init__()
        parts = import_library(library)
        heads, losses = parts["models.modules"], parts["loss"]
        self.method = recipe.method
        self.backbone, features = build_backbone(recipe.backbone)
        if recipe.method == "simclr":
            self.projection_head = heads.SimCLRProjectionHead(
                features, recipe.proj_hidden_dim, recipe.proj_output_dim
            )
            self.prediction_head = None
            self.criterion = losses.NTXentLoss(temperature=recipe.temperature)
        else:
            out = recipe.proj_output_dim
            self.projection_head = heads.SimSiamProjectionHead(
                features, recipe.proj_hidden_dim, out
            )
            self.prediction_head = heads.SimSiamPredictionHead(out, recipe.pred_hidden_dim, out)
            self.criterion = losses.NegativeCosineSimilarity()

    def forward(self, x: torch.Tensor) -> Any:
        z = self.projection_head(self.backbone(x))
        if self.prediction_head is None:
            return z
        return z.detach(), self.prediction_head(z)

    def loss(self, views: Sequence[torch.Tensor]) -> torch.Tensor:
        """The method's loss over a batch of views (a list of ``(B, C, H, W)`` tensors)."""
        if self.method == "simclr":
            x0, x1 = views
            return self.criterion(self(x0), self(x1))
        if self.method == "simsiam":
            (z0, p0), (z1, p1) = self(views[0]), self(views[1])
            return 0.5 * (self.criterion(p0, z1) + self.criterion(p1, z0))
        # FastSiam: each view's prediction against the mean projection of the other views.
        zs, ps = zip(*[self(view) for view in views])
        total = sum(zs)
        losses = [self.criterion(p, (total - z) / (len(zs) - 1)) for z, p in zip(zs, ps)]
        return sum(losses) / len(losses)


def build_transform(recipe: Recipe, library: str = "lightly_min") -> Any:
    """The method's multi-view transform from ``library``, with the recipe's settings."""
    transforms = import_library(library)["transforms"]
    kwargs = {"input_size": recipe.input_size, **recipe.transform}
    if recipe.method == "fastsiam":
        return transforms.FastSiamTransform(num_views=recipe.num_views, **kwargs)
    if recipe.method == "simsiam":
        return transforms.SimSiamTransform(**kwargs)
    return transforms.SimCLRTransform(**kwargs)


def build_optimizer(model: SiameseModel, recipe: Recipe) -> tuple[torch.optim.Optimizer, LambdaLR]:
    """The examples' SGD (or AdamW) with a per-epoch cosine schedule; the predictor of SimSiam
    and FastSiam keeps a fixed learning rate, as in the examples."""

    def cosine(epoch: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * epoch / recipe.epochs))

    lr = recipe.lr * recipe.batch_size / 256
    if model.prediction_head is None:
        groups: list[dict[str, Any]] = [{"params": list(model.parameters())}]
        schedules = [cosine]
    else:
        encoder = [*model.backbone.parameters(), *model.projection_head.parameters()]
        predictor = list(model.prediction_head.parameters())
        groups = [{"params": encoder}, {"params": predictor, "lr": lr * recipe.pred_lr_factor}]
        schedules = [cosine, lambda epoch: 1.0]
    if recipe.optimizer == "adamw":
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            groups, lr=lr, weight_decay=recipe.weight_decay
        )
    else:
        optimizer = torch.optim.SGD(
            groups, lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
        )
    return optimizer, LambdaLR(optimizer, schedules)
