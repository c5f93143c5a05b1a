"""Evaluation of learned features: weighted kNN classification and a linear probe."""

from lightly_min.utils.benchmarking.evaluation import (
    HeldOutAccuracy,
    evaluate_backbone,
    evaluate_features,
)
from lightly_min.utils.benchmarking.knn import (
    embed,
    knn_accuracy,
    knn_accuracy_on_features,
    knn_predict,
)
from lightly_min.utils.benchmarking.linear_probe import linear_probe_accuracy

__all__ = [
    "HeldOutAccuracy",
    "embed",
    "evaluate_backbone",
    "evaluate_features",
    "knn_accuracy",
    "knn_accuracy_on_features",
    "knn_predict",
    "linear_probe_accuracy",
]
