"""Evaluation leaves the model as it found it and does not depend on how the data are ordered
or batched: the defects that a backbone evaluated in train mode has (BatchNorm normalising
each batch by its own statistics, and updating its running statistics with held-out data)."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightly_min.evaluation import embed, evaluate_backbone, label_efficiency, labelled_subset


def backbone_with_batchnorm() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 8), nn.BatchNorm1d(8),
    )  # fmt: skip


def digits_like(n_per_class: int, seed: int) -> TensorDataset:
    """Images whose class is the quadrant that is bright, sorted by class."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(n_per_class)
    images = 0.3 * torch.randn(len(labels), 1, 8, 8, generator=generator)
    for index, label in enumerate(labels.tolist()):
        row, column = divmod(label, 2)
        images[index, :, 4 * row : 4 * row + 4, 4 * column : 4 * column + 4] += 1.0
    return TensorDataset(images, labels)


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in module.state_dict().items()}


def test_evaluation_changes_no_parameter_or_buffer_and_restores_the_mode():
    backbone = backbone_with_batchnorm()
    for mode in (True, False):
        backbone.train(mode)
        before = state(backbone)
        train = DataLoader(digits_like(10, seed=0), batch_size=10)  # one class per batch
        test = DataLoader(digits_like(5, seed=1), batch_size=5)
        evaluate_backbone(backbone, train, test, knn_k=5, progress=False)
        after = backbone.state_dict()
        assert backbone.training is mode
        for name, value in before.items():  # running mean, var and batch count included
            assert torch.equal(value, after[name]), name


def test_a_feature_depends_on_its_own_image_only():
    """Embedded alone or in a batch with other images: the same feature (eval mode)."""
    backbone = backbone_with_batchnorm().train()
    data = digits_like(4, seed=0)
    alone, _ = embed(backbone, DataLoader(data, batch_size=1), progress=False)
    batched, _ = embed(backbone, DataLoader(data, batch_size=16), progress=False)
    torch.testing.assert_close(alone, batched)


def test_the_order_of_the_bank_does_not_change_the_result():
    """The bank sorted by class (one class per batch) or shuffled: the same kNN and probe."""
    backbone = backbone_with_batchnorm().train()
    bank, test = digits_like(12, seed=0), digits_like(6, seed=1)
    test_loader = DataLoader(test, batch_size=6)
    permutation = torch.randperm(len(bank), generator=torch.Generator().manual_seed(1))
    shuffled = TensorDataset(*(tensor[permutation] for tensor in bank.tensors))
    results = [
        evaluate_backbone(backbone, DataLoader(d, batch_size=12), test_loader, knn_k=5,
                          progress=False)
        for d in (bank, shuffled)
    ]  # fmt: skip
    assert results[0].knn == results[1].knn
    assert abs(results[0].linear_probe - results[1].linear_probe) < 1e-6


def test_labelled_subset_draws_that_many_of_each_class_reproducibly():
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0])
    subset = labelled_subset(labels, 2, seed=3)
    assert torch.bincount(labels[subset]).tolist() == [2, 2, 2]
    assert torch.equal(subset, labelled_subset(labels, 2, seed=3))
    assert subset.tolist() == sorted(set(subset.tolist()))
    draws = {tuple(labelled_subset(labels, 1, seed=s).tolist()) for s in range(20)}
    assert len(draws) > 1  # the seed changes which images
    with pytest.raises(ValueError, match="class 1 has 3 labelled images"):
        labelled_subset(labels, 4, seed=0)


def test_label_efficiency_on_features_with_a_known_answer():
    """Two classes on two orthogonal directions, with noise: one label per class is already
    enough for a perfect kNN; a bank of the wrong class for every image would give 0."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(40) % 2
    centres = torch.eye(2)[labels] * 5
    train = centres + 0.3 * torch.randn(40, 2, generator=generator)
    test = centres + 0.3 * torch.randn(40, 2, generator=generator)
    result = label_efficiency(train, labels, test, labels, labels_per_class=(1, 5, None))
    assert set(result) == {"1", "5", "all"}
    assert all(r["knn"] == 1.0 and r["linear_probe"] == 1.0 for r in result.values())
    swapped = label_efficiency(train, 1 - labels, test, labels, labels_per_class=(5,))
    assert swapped["5"]["knn"] == 0.0
