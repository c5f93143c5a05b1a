"""How accuracy grows with the number of labels: kNN and linear probe on a few labels per class.

What self-supervision buys is clearest when labels are scarce: with the features frozen, a
classifier fit on 1, 5 or 10 labelled images per class. (SimCLR, Chen et al., 2020,
arXiv:2002.05709, Table 7, measures the same with 1% and 10% of ImageNet's labels.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lightly_min.evaluation.knn import knn_accuracy
from lightly_min.evaluation.linear_probe import linear_probe_accuracy


def labelled_subset(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` images of every class, drawn at random with ``seed``, sorted.

    Args:
        labels: ``(N,)`` class indices.
        per_class: Images to keep of each class; every class must have that many.
        seed: Seeds the draw (a ``torch.Generator`` of its own): the same seed, labels and
            ``per_class`` give the same images.
    """
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        if len(members) < per_class:
            raise ValueError(
                f"class {int(label)} has {len(members)} labelled images, fewer than "
                f"{per_class} per class. Ask for at most {len(members)} per class."
            )
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


def label_efficiency(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    labels_per_class: Sequence[int | None] = (1, 5, 10, 50, None),
    num_classes: int | None = None,
    knn_k: int = 200,
    knn_t: float = 0.1,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Held-out kNN and linear-probe accuracy with a few labelled training images per class.

    For each count ``n`` in ``labels_per_class`` (``None``: every training image), the kNN
    bank and the probe's training set are ``n`` images of each class
    (:func:`labelled_subset`); both are evaluated on all test features. The kNN vote takes
    ``min(knn_k, labelled images)`` neighbours.

    Args:
        train_features, test_features: ``(N, D)`` and ``(M, D)``, on one device.
        train_labels, test_labels: ``(N,)`` and ``(M,)`` class indices.
        labels_per_class: The counts to try.
        num_classes: Defaults to the largest training label + 1.
        knn_k, knn_t: Neighbours and temperature of the kNN vote.
        seed: Seeds the draw of the labelled images.

    Returns:
        ``{"1": {"knn": ..., "linear_probe": ...}, ..., "all": {...}}``, accuracies in [0, 1].
    """
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    results = {}
    for n in labels_per_class:
        index = torch.arange(len(train_labels)) if n is None else labelled_subset(
            train_labels.cpu(), n, seed
        )  # fmt: skip
        index = index.to(train_labels.device)
        bank, bank_labels = train_features[index], train_labels[index]
        k = min(knn_k, len(index))
        results["all" if n is None else str(n)] = {
            "knn": knn_accuracy(
                bank, bank_labels, test_features, test_labels, num_classes, k, knn_t
            ),
            "linear_probe": linear_probe_accuracy(
                bank, bank_labels, test_features, test_labels, num_classes
            ),
        }
    return results
