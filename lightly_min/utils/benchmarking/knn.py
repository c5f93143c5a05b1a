"""k-nearest-neighbour classification of features, as lightly's ``knn_predict``.

The weighted vote is InstDisc's (Wu et al., 2018, arXiv:1805.01978, Sec. 3.4): each of the ``k``
bank features most similar to a query votes for its class with weight ``exp(s / t)``, where
``s`` is the cosine similarity of the two features and ``t`` a temperature.
"""

from __future__ import annotations

import torch


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
