"""k-nearest-neighbour evaluation of a backbone's features.

The weighted vote is InstDisc's (Wu et al., 2018, arXiv:1805.01978, Sec. 3.4): each of the ``k``
training images most similar to a test image votes for its class with weight
``exp(s / t)``, where ``s`` is the cosine similarity of the two features and ``t`` a temperature.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from lightly_min.utils.progress import progress_bar


def knn_predict(
    feature: torch.Tensor,
    feature_bank: torch.Tensor,
    feature_labels: torch.Tensor,
    num_classes: int,
    knn_k: int = 200,
    knn_t: float = 0.1,
) -> torch.Tensor:
    """Predicts classes by a temperature-weighted vote of the ``knn_k`` nearest neighbours.

    ``score(c) = sum over the k most similar bank features j with label c of exp(s_j / knn_t)``,
    with ``s_j`` the dot product of the query and bank feature ``j`` (the cosine similarity when
    both are L2-normalised, as this function expects).

    Args:
        feature: Queries ``(B, D)``, L2-normalised.
        feature_bank: Bank ``(D, N)``, L2-normalised columns.
        feature_labels: Labels of the bank ``(N,)``, integers in ``[0, num_classes)``.
        num_classes: Number of classes.
        knn_k: Number of neighbours; at most ``N`` are used.
        knn_t: Temperature of the vote.

    Returns:
        ``(B, num_classes)`` class indices, best first; column 0 is the prediction.
    """
    if feature.dim() != 2 or feature_bank.dim() != 2 or feature.shape[1] != feature_bank.shape[0]:
        raise ValueError(
            f"knn_predict needs feature (B, D) and feature_bank (D, N), got {tuple(feature.shape)} "
            f"and {tuple(feature_bank.shape)}. Transpose the bank if it is (N, D)."
        )
    if feature_labels.shape != (feature_bank.shape[1],):
        raise ValueError(
            f"knn_predict needs one label per bank column: {feature_bank.shape[1]} columns, got "
            f"labels of shape {tuple(feature_labels.shape)}."
        )
    similarity = feature @ feature_bank  # (B, N)
    top_similarity, top_index = similarity.topk(min(knn_k, feature_bank.shape[1]), dim=1)
    votes = (top_similarity / knn_t).exp()  # (B, k)
    scores = torch.zeros(feature.shape[0], num_classes, device=feature.device, dtype=votes.dtype)
    scores.scatter_add_(1, feature_labels[top_index], votes)
    return scores.argsort(dim=1, descending=True)


@torch.no_grad()
def embed(
    backbone: nn.Module,
    loader: Iterable,
    device: torch.device | str,
    desc: str = "embed",
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-normalised features ``(N, D)`` and labels ``(N,)`` of every image in ``loader``.

    ``loader`` yields ``(images, labels, ...)`` with images ``(B, C, H, W)``; the backbone's
    output is flattened to ``(B, D)``. ``progress`` shows a progress bar labelled ``desc``.
    """
    features, labels = [], []
    for images, targets, *_ in progress_bar(loader, desc=desc, disable=not progress):
        if not isinstance(images, torch.Tensor):
            raise TypeError(
                "kNN evaluation needs batches of single images (B, C, H, W), got "
                f"{type(images).__name__}. Give its DataLoaders a plain transform (e.g. ToTensor "
                "and Normalize), not a multi-view transform."
            )
        output = backbone(images.to(device)).flatten(start_dim=1)
        features.append(F.normalize(output.float(), dim=1))
        labels.append(torch.as_tensor(targets).to(device))
    return torch.cat(features), torch.cat(labels)


def knn_accuracy_on_features(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int,
    knn_k: int = 200,
    knn_t: float = 0.1,
) -> float:
    """Top-1 accuracy of :func:`knn_predict` on L2-normalised features ``(M, D)``, with the
    ``(N, D)`` train features and their labels as the bank."""
    correct = 0
    for start in range(0, len(test_features), 1024):  # in chunks: similarities are B x N
        query = test_features[start : start + 1024]
        prediction = knn_predict(query, train_features.T, train_labels, num_classes, knn_k, knn_t)[
            :, 0
        ]
        correct += (prediction == test_labels[start : start + 1024]).sum().item()
    return correct / len(test_features)


def knn_accuracy(
    backbone: nn.Module,
    train_loader: Iterable,
    test_loader: Iterable,
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> float:
    """Top-1 kNN accuracy of ``backbone``'s features on ``test_loader``.

    The features of ``train_loader`` form the bank; each test image gets the class that
    :func:`knn_predict` ranks first. The backbone runs in eval mode without gradients and gets
    its mode back afterwards.

    Args:
        backbone: Maps images ``(B, C, H, W)`` to features ``(B, D)`` (or ``(B, D, 1, 1)``).
        train_loader, test_loader: Yield ``(images, labels, ...)``; labels are class indices.
        num_classes: Defaults to the largest training label + 1.
        knn_k, knn_t: See :func:`knn_predict`.
        device: Where to compute; defaults to the device of the backbone's parameters
            (CPU for a backbone without parameters).
        progress: Whether to show progress bars for the two passes.

    Returns:
        The fraction of test images classified correctly, in [0, 1].
    """
    if device is None:
        device = next(backbone.parameters(), torch.empty(0)).device
    was_training = backbone.training
    backbone.eval()
    try:
        bank, bank_labels = embed(backbone, train_loader, device, "kNN bank", progress)
        test, test_labels = embed(backbone, test_loader, device, "kNN test", progress)
    finally:
        backbone.train(was_training)
    if num_classes is None:
        num_classes = int(bank_labels.max()) + 1
    return knn_accuracy_on_features(bank, bank_labels, test, test_labels, num_classes, knn_k, knn_t)
