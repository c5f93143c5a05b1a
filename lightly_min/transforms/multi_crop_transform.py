"""Multi-crop: several crops of each of several sizes (SwAV, Caron et al., 2020,
arXiv:2006.09882, Sec. 3.2; DINO's global and local views)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torchvision.transforms as T

from lightly_min.transforms.multi_view_transform import MultiViewTransform


class MultiCropTranform(MultiViewTransform):
    """``crop_counts[i]`` crops of ``crop_min_scales[i]`` to ``crop_max_scales[i]`` of the area,
    resized to ``crop_sizes[i]``, each followed by ``transforms``, for every ``i``. The name,
    with its missing "s", is lightly's.

    Returns:
        A list of ``sum(crop_counts)`` views, the first size's crops first.
    """

    def __init__(
        self,
        crop_sizes: Sequence[int],
        crop_counts: Sequence[int],
        crop_min_scales: Sequence[float],
        crop_max_scales: Sequence[float],
        transforms: Callable[[Any], Any],
    ) -> None:
        lengths = {len(crop_sizes), len(crop_counts), len(crop_min_scales), len(crop_max_scales)}
        if len(lengths) != 1:
            raise ValueError(
                "MultiCropTranform needs one crop size, count, minimum and maximum scale per "
                f"kind of crop, got {len(crop_sizes)} sizes, {len(crop_counts)} counts, "
                f"{len(crop_min_scales)} minimum and {len(crop_max_scales)} maximum scales."
            )
        views = []
        for size, count, low, high in zip(
            crop_sizes, crop_counts, crop_min_scales, crop_max_scales
        ):
            crop = T.RandomResizedCrop(size, scale=(low, high))
            views += [T.Compose([crop, transforms])] * count
        super().__init__(views)
