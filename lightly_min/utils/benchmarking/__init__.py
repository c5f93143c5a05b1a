"""Evaluation of learned features: weighted kNN classification."""

from lightly_min.utils.benchmarking.knn import embed, knn_accuracy, knn_predict

__all__ = ["embed", "knn_accuracy", "knn_predict"]
