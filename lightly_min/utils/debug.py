"""A label-free check for collapse (SimSiam, Chen & He, 2020, arXiv:2011.10566, Sec. 4.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def std_of_l2_normalized(z: torch.Tensor) -> torch.Tensor:
    """The standard deviation of L2-normalised embeddings, per dimension, averaged.

    With ``z' = z / |z|`` for each row, the result is ``mean_d std_n(z'[n, d])`` (the sample
    standard deviation over the batch). If the outputs collapse to one vector it is 0. If
    ``z'`` is spread out like a normalised isotropic Gaussian it is about ``1 / sqrt(D)``: the
    paper's Fig. 2 shows a healthy run near that value and a collapsed one at 0.

    Args:
        z: Embeddings ``(N, D)`` of ``N >= 2`` images, e.g. a projection head's output.

    Returns:
        A scalar float32 tensor (with gradient, as in lightly; pass ``z.detach()`` to monitor).
    """
    if z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(
            f"std_of_l2_normalized needs embeddings (N, D) with N >= 2, got shape "
            f"{tuple(z.shape)}. Pass a batch of projections."
        )
    return F.normalize(z.float(), dim=1).std(dim=0).mean()
