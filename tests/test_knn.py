import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightly_min.evaluation import evaluate_backbone
from lightly_min.utils.benchmarking import knn_predict


def bank_from(similarities: list[list[float]]) -> torch.Tensor:
    """Unit vectors (D, N) whose dot product with e0 is each given similarity."""
    columns = [[s, math.sqrt(1 - s * s)] for s in similarities[0]]
    return torch.tensor(columns).T


def test_weighted_vote_depends_on_temperature():
    # Neighbours: two of class 0 at similarity 0.1, one of class 1 at similarity 0.9.
    query = torch.tensor([[1.0, 0.0]])
    bank = bank_from([[0.1, 0.1, 0.9]])
    labels = torch.tensor([0, 0, 1])
    # t = 0.1: class 1 scores e^9 = 8103 > 2 e^1 = 5.4.  t = 10: 2 e^0.01 = 2.02 > e^0.09 = 1.09.
    assert knn_predict(query, bank, labels, num_classes=2, knn_k=3, knn_t=0.1)[0].tolist() == [1, 0]
    assert knn_predict(query, bank, labels, num_classes=2, knn_k=3, knn_t=10.0)[0].tolist() == [
        0,
        1,
    ]


def test_only_the_k_nearest_vote():
    query = torch.tensor([[1.0, 0.0]])
    bank = bank_from([[0.9, 0.1, 0.1, 0.1]])
    labels = torch.tensor([2, 0, 0, 0])
    assert knn_predict(query, bank, labels, num_classes=3, knn_k=1)[0, 0] == 2
    assert knn_predict(query, bank, labels, num_classes=3, knn_k=4, knn_t=10.0)[0, 0] == 0


def test_k_larger_than_the_bank_uses_the_whole_bank():
    query = torch.tensor([[1.0, 0.0]])
    bank = bank_from([[0.2, 0.3]])
    assert knn_predict(query, bank, torch.tensor([1, 1]), num_classes=3, knn_k=200)[0, 0] == 1


def test_knn_predict_rejects_a_transposed_bank():
    with pytest.raises(ValueError, match=r"feature_bank \(D, N\)"):
        knn_predict(torch.randn(2, 4), torch.randn(10, 4), torch.zeros(10, dtype=torch.long), 2)


def clustered(n_per_class: int, noise: float, seed: int) -> TensorDataset:
    """Points around the 4 corners (+-1, +-1) shaped as 1x2x1 'images'; label = corner index."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    labels = torch.arange(4).repeat_interleave(n_per_class)
    points = centres[labels] + noise * torch.randn(len(labels), 2, generator=generator)
    return TensorDataset(points.view(-1, 1, 2, 1), labels)


def knn_of(backbone, train, test, **kwargs):
    return evaluate_backbone(backbone, train, test, linear_probe=False, progress=False, **kwargs)


def test_knn_on_separable_clusters_is_one():
    train = DataLoader(clustered(20, 0.1, seed=0), batch_size=7)
    test = DataLoader(clustered(5, 0.1, seed=1), batch_size=3)
    accuracy = knn_of(nn.Flatten(), train, test, knn_k=5)
    assert accuracy.knn == 1.0 and accuracy.linear_probe is None


def test_knn_counts_mistakes():
    train = DataLoader(clustered(10, 0.0, seed=0), batch_size=8)
    points = F.normalize(torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]))
    wrong_labels = torch.tensor([0, 1, 0, 0])  # the last two are mislabelled: 2 of 4 correct
    test = DataLoader(TensorDataset(points.view(-1, 1, 2, 1), wrong_labels), batch_size=4)
    assert knn_of(nn.Flatten(), train, test, num_classes=4, device="cpu").knn == 0.5


def test_evaluation_rejects_multi_view_batches():
    multi_view_batch = ([torch.zeros(2, 1, 2, 1)] * 2, torch.zeros(2))
    with pytest.raises(TypeError, match="single images.*multi-view"):
        knn_of(nn.Flatten(), [multi_view_batch], [multi_view_batch])
