"""Heads that sit on top of a backbone: ``lightly_min.models.modules.heads``."""

from lightly_min.models.modules.heads import (
    BarlowTwinsProjectionHead,
    BYOLPredictionHead,
    BYOLProjectionHead,
    DINOProjectionHead,
    MoCoProjectionHead,
    ProjectionHead,
    SimCLRProjectionHead,
    SimSiamPredictionHead,
    SimSiamProjectionHead,
    VICRegProjectionHead,
)

__all__ = [
    "BarlowTwinsProjectionHead",
    "BYOLPredictionHead",
    "BYOLProjectionHead",
    "DINOProjectionHead",
    "MoCoProjectionHead",
    "ProjectionHead",
    "SimCLRProjectionHead",
    "SimSiamPredictionHead",
    "SimSiamProjectionHead",
    "VICRegProjectionHead",
]
