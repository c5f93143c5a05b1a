"""Datasets: :class:`LightlyDataset` reads a folder of images."""

from lightly_min.data.dataset import LightlyDataset

__all__ = ["LightlyDataset"]
