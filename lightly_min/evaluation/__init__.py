"""Held-out accuracy of learned features: a weighted kNN vote and a linear probe.

Two entry points with one meaning: :func:`evaluate_backbone` computes a backbone's features
(:func:`~lightly_min.evaluation.features.embed`: eval mode, no gradients, the backbone left as
it was) and passes them to :func:`evaluate_features`, which also takes any other features, such
as raw pixels for a baseline. In both, the kNN vote compares L2-normalised features (cosine
similarity, :func:`~lightly_min.evaluation.knn.knn_accuracy`) and the linear probe fits the
features as given (it standardises them itself,
:func:`~lightly_min.evaluation.linear_probe.linear_probe_accuracy`). Neither depends on the
order of the images.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import nn

from lightly_min.evaluation.features import embed
from lightly_min.evaluation.few_labels import label_efficiency, labelled_subset
from lightly_min.evaluation.knn import knn_accuracy
from lightly_min.evaluation.linear_probe import linear_probe_accuracy

__all__ = [
    "HeldOutAccuracy",
    "embed",
    "evaluate_backbone",
    "evaluate_features",
    "knn_accuracy",
    "label_efficiency",
    "labelled_subset",
    "linear_probe_accuracy",
]


class HeldOutAccuracy(NamedTuple):
    """Top-1 accuracies on held-out images, each in [0, 1]; ``linear_probe`` is ``None`` when
    it was not asked for."""

    knn: float
    linear_probe: float | None


def evaluate_features(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
    linear_probe: bool = True,
) -> HeldOutAccuracy:
    """kNN and linear-probe accuracy on the test features, with the labelled train features as
    the kNN bank and the probe's training set.

    Args:
        train_features, test_features: ``(N, D)`` and ``(M, D)``, on one device.
        train_labels, test_labels: ``(N,)`` and ``(M,)`` class indices.
        num_classes: Defaults to the largest training label + 1.
        knn_k, knn_t: Neighbours and temperature of the kNN vote.
        linear_probe: Whether to fit the linear probe too (seconds, on a few thousand images).
    """
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    knn = knn_accuracy(
        train_features, train_labels, test_features, test_labels, num_classes, knn_k, knn_t
    )
    probe = None
    if linear_probe:
        probe = linear_probe_accuracy(
            train_features, train_labels, test_features, test_labels, num_classes
        )
    return HeldOutAccuracy(knn=knn, linear_probe=probe)


def evaluate_backbone(
    backbone: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
    linear_probe: bool = True,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> HeldOutAccuracy:
    """:func:`evaluate_features` on ``backbone``'s features of the labelled images of
    ``train_loader`` (the bank) and ``test_loader`` (held out).

    Each image is embedded once, by :func:`~lightly_min.evaluation.features.embed`: eval mode,
    no gradients, and the backbone's mode, parameters and buffers (e.g. BatchNorm's running
    statistics) are as they were afterwards.

    Args:
        backbone: Maps images ``(B, C, H, W)`` to features ``(B, D)`` (or ``(B, D, 1, 1)``).
        train_loader, test_loader: Yield ``(images, labels, ...)``; labels are class indices.
        device: Where to compute; defaults to the device of the backbone's parameters.
        progress: Whether to show progress bars for the two passes.
        num_classes, knn_k, knn_t, linear_probe: As in :func:`evaluate_features`.
    """
    train, train_labels = embed(backbone, train_loader, device, "embed train", progress)
    test, test_labels = embed(backbone, test_loader, device, "embed test", progress)
    return evaluate_features(
        train, train_labels, test, test_labels, num_classes, knn_k, knn_t, linear_probe
    )
