"""Held-out kNN accuracy of features, with
:func:`~lightly_min.utils.benchmarking.knn.knn_predict`."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lightly_min.utils.benchmarking.knn import knn_predict


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int,
    knn_k: int = 200,
    knn_t: float = 0.1,
) -> float:
    """Top-1 accuracy of :func:`~lightly_min.utils.benchmarking.knn.knn_predict` on the
    ``(M, D)`` test features, with the ``(N, D)`` train features and their labels as the bank.
    Both are L2-normalised here, so the vote compares cosine similarities; the order of the
    bank does not matter."""
    bank = F.normalize(train_features.float(), dim=1).T
    correct = 0
    for start in range(0, len(test_features), 1024):  # in chunks: similarities are B x N
        query = F.normalize(test_features[start : start + 1024].float(), dim=1)
        ranking = knn_predict(query, bank, train_labels, num_classes, knn_k, knn_t)
        correct += (ranking[:, 0] == test_labels[start : start + 1024]).sum().item()
    return correct / len(test_features)
