"""Alias of :mod:`lightly_min.transforms.fastsiam_transform` under lightly's module name."""

from lightly_min.transforms.fastsiam_transform import FastSiamTransform

__all__ = ["FastSiamTransform"]
