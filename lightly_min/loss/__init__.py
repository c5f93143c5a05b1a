"""Loss functions: SimSiam's negative cosine similarity and SimCLR's NT-Xent."""

from lightly_min.loss.negative_cosine_similarity import NegativeCosineSimilarity
from lightly_min.loss.ntx_ent_loss import NTXentLoss

__all__ = ["NTXentLoss", "NegativeCosineSimilarity"]
