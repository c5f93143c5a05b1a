"""Loss functions of the self-supervised methods."""

from lightly_min.loss.barlow_twins_loss import BarlowTwinsLoss
from lightly_min.loss.dino_loss import DINOLoss
from lightly_min.loss.negative_cosine_similarity import NegativeCosineSimilarity
from lightly_min.loss.ntx_ent_loss import NTXentLoss
from lightly_min.loss.vicreg_loss import VICRegLoss

__all__ = ["BarlowTwinsLoss", "DINOLoss", "NTXentLoss", "NegativeCosineSimilarity", "VICRegLoss"]
