"""Heads that sit on top of a backbone: ``lightly_min.models.modules.heads``."""

from lightly_min.models.modules.heads import (
    BYOLPredictionHead,
    BYOLProjectionHead,
    ProjectionHead,
    SimCLRProjectionHead,
    SimSiamPredictionHead,
    SimSiamProjectionHead,
)

__all__ = [
    "BYOLPredictionHead",
    "BYOLProjectionHead",
    "ProjectionHead",
    "SimCLRProjectionHead",
    "SimSiamPredictionHead",
    "SimSiamProjectionHead",
]
