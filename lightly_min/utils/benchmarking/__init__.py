"""lightly's benchmarking helpers: :func:`knn_predict`. Evaluating a whole backbone (kNN and a
linear probe on held-out images) is :mod:`lightly_min.evaluation`."""

from lightly_min.utils.benchmarking.knn import knn_predict

__all__ = ["knn_predict"]
