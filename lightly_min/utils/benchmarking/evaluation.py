"""Held-out accuracy of a backbone: kNN and linear probe on the same features."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lightly_min.utils.benchmarking.knn import embed, knn_accuracy_on_features
from lightly_min.utils.benchmarking.linear_probe import linear_probe_accuracy


class HeldOutAccuracy(NamedTuple):
    """Top-1 accuracies on held-out images, each in [0, 1]."""

    knn: float
    linear_probe: float


def evaluate_backbone(
    backbone: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> HeldOutAccuracy:
    """kNN and linear-probe accuracy of ``backbone``'s features on ``test_loader``.

    Both passes embed each image once (eval mode, no gradients; the backbone gets its mode
    back). The labelled features of ``train_loader`` are the kNN bank
    (:func:`~lightly_min.utils.benchmarking.knn.knn_predict`) and the linear probe's training
    set (:func:`~lightly_min.utils.benchmarking.linear_probe.linear_probe_accuracy`); the
    images of ``test_loader`` are classified by both.

    Args:
        backbone: Maps images ``(B, C, H, W)`` to features ``(B, D)`` (or ``(B, D, 1, 1)``).
        train_loader, test_loader: Yield ``(images, labels, ...)``; labels are class indices.
        num_classes: Defaults to the largest training label + 1.
        knn_k, knn_t: Neighbours and temperature of the kNN vote.
        device: Where to compute; defaults to the device of the backbone's parameters.
        progress: Whether to show progress bars for the two passes.
    """
    if device is None:
        device = next(backbone.parameters(), torch.empty(0)).device
    was_training = backbone.training
    backbone.eval()
    try:
        train, train_labels = embed(backbone, train_loader, device, "embed train", progress)
        test, test_labels = embed(backbone, test_loader, device, "embed test", progress)
    finally:
        backbone.train(was_training)
    return evaluate_features(train, train_labels, test, test_labels, num_classes, knn_k, knn_t)


def evaluate_features(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
) -> HeldOutAccuracy:
    """kNN and linear-probe accuracy of any features, e.g. raw pixels as a baseline.

    The kNN vote compares L2-normalised features (cosine similarity); the linear probe fits
    the features as given (it standardises them itself).

    Args:
        train_features, test_features: ``(N, D)`` and ``(M, D)``, on one device.
        train_labels, test_labels: ``(N,)`` and ``(M,)`` class indices.
        num_classes: Defaults to the largest training label + 1.
        knn_k, knn_t: Neighbours and temperature of the kNN vote.
    """
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    knn = knn_accuracy_on_features(
        F.normalize(train_features.float(), dim=1), train_labels,
        F.normalize(test_features.float(), dim=1), test_labels, num_classes, knn_k, knn_t,
    )  # fmt: skip
    linear = linear_probe_accuracy(
        train_features, train_labels, test_features, test_labels, num_classes
    )
    return HeldOutAccuracy(knn=knn, linear_probe=linear)
