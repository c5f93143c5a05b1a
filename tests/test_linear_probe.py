import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightly_min.evaluation import (
    evaluate_backbone,
    evaluate_features,
    linear_probe_accuracy,
)


def blobs(n_per_class: int, noise: float, seed: int, dim: int = 6):
    """Three Gaussian blobs in ``dim`` dimensions, overlapping for large ``noise``."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.eye(dim)[:3] * 2
    labels = torch.arange(3).repeat_interleave(n_per_class)
    points = centres[labels] + noise * torch.randn(len(labels), dim, generator=generator)
    return points, labels


def test_separable_classes_are_all_classified_correctly():
    train, train_labels = blobs(30, 0.1, seed=0)
    test, test_labels = blobs(10, 0.1, seed=1)
    assert linear_probe_accuracy(train, train_labels, test, test_labels) == 1.0


def test_matches_scikit_learns_logistic_regression_on_overlapping_classes():
    """The same objective, solved independently: scikit-learn with C = 1 / (wd * N) on the
    standardised features gives the same predictions (the problem is convex)."""
    sklearn = pytest.importorskip("sklearn.linear_model")
    train, train_labels = blobs(60, 1.5, seed=0)
    test, test_labels = blobs(200, 1.5, seed=1)
    weight_decay = 1e-2
    ours = linear_probe_accuracy(train, train_labels, test, test_labels, weight_decay=weight_decay)

    mean, std = train.mean(0), train.std(0)
    classifier = sklearn.LogisticRegression(C=1 / (weight_decay * len(train)), tol=1e-10)
    classifier.fit(((train - mean) / std).numpy(), train_labels.numpy())
    predicted = classifier.predict(((test - mean) / std).numpy())
    theirs = float(np.mean(predicted == test_labels.numpy()))
    assert 0.5 < theirs < 1.0  # overlapping classes: a non-trivial answer
    assert ours == pytest.approx(theirs, abs=1 / len(test))


def test_rejects_features_of_different_widths():
    with pytest.raises(ValueError, match=r"\(N, D\) and \(M, D\)"):
        linear_probe_accuracy(torch.randn(4, 3), torch.zeros(4).long(), torch.randn(2, 5), None)


def test_evaluate_backbone_gives_knn_and_linear_probe_and_restores_the_mode():
    backbone = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(6))
    backbone.train()
    train = DataLoader(TensorDataset(*blobs(20, 0.1, seed=0)), batch_size=16)
    test = DataLoader(TensorDataset(*blobs(5, 0.1, seed=1)), batch_size=4)
    accuracy = evaluate_backbone(backbone, train, test, knn_k=5, progress=False)
    assert accuracy == (1.0, 1.0) and accuracy.knn == 1.0 and accuracy.linear_probe == 1.0
    assert backbone.training


def test_evaluate_features_votes_by_direction_and_probes_the_features_as_given():
    """Two classes with the same distribution of directions, told apart only by their length
    (1 or 5): the kNN vote on L2-normalised features is at chance, the probe is exact."""
    generator = torch.Generator().manual_seed(0)

    def points(n):
        directions = torch.tensor([1.0, 1.0]) + 0.3 * torch.randn(2 * n, 2, generator=generator)
        labels = torch.arange(2).repeat_interleave(n)
        return directions * (1 + 4 * labels)[:, None], labels

    train, train_labels = points(100)
    test, test_labels = points(100)
    accuracy = evaluate_features(train, train_labels, test, test_labels, knn_k=20)
    assert accuracy.linear_probe == 1.0
    assert 0.3 < accuracy.knn < 0.7  # chance is 0.5
