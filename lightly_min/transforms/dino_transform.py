"""DINO's multi-crop augmentation (Caron et al., 2021, arXiv:2104.14294, Sec. 3.1 and App.)."""

from __future__ import annotations

import torchvision.transforms as T

from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.transforms.view_transform import ViewTransform


class DINOViewTransform(ViewTransform):
    """One DINO view: a crop of ``crop_scale`` of the area, resized bicubically to
    ``crop_size``, then BYOL's flips, jitter and grayscale, blur with probability
    ``gaussian_blur`` and solarization with probability ``solarization_prob``.

    Returns:
        A float tensor ``(3, crop_size, crop_size)``.
    """

    def __init__(
        self,
        crop_size: int = 224,
        crop_scale: tuple[float, float] = (0.4, 1.0),
        hf_prob: float = 0.5,
        vf_prob: float = 0.0,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        cj_prob: float = 0.8,
        cj_strength: float = 0.5,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.4,
        cj_hue: float = 0.2,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 1.0,
        sigmas: tuple[float, float] = (0.1, 2.0),
        solarization_prob: float = 0.2,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        super().__init__(
            input_size=crop_size,
            min_scale=crop_scale[0],
            max_scale=crop_scale[1],
            interpolation=T.InterpolationMode.BICUBIC,
            cj_prob=cj_prob,
            cj_strength=cj_strength,
            cj_bright=cj_bright,
            cj_contrast=cj_contrast,
            cj_sat=cj_sat,
            cj_hue=cj_hue,
            random_gray_scale=random_gray_scale,
            gaussian_blur=gaussian_blur,
            sigmas=sigmas,
            vf_prob=vf_prob,
            hf_prob=hf_prob,
            rr_prob=rr_prob,
            rr_degrees=rr_degrees,
            normalize=normalize,
            solarization_prob=solarization_prob,
        )


class DINOTransform(MultiViewTransform):
    """DINO's views of an image: two global crops, then ``n_local_views`` local ones.

    The global crops cover ``global_crop_scale`` of the area at ``global_crop_size`` px; the
    first is always blurred, the second blurred with probability 0.1 and solarized with
    probability ``solarization_prob``. The local crops cover ``local_crop_scale`` at
    ``local_crop_size`` px, blurred with probability 0.5, never solarized. Colour jitter is
    ``cj_strength`` times (0.8, 0.8, 0.4, 0.2), i.e. (0.4, 0.4, 0.2, 0.1), with probability
    0.8; grayscale with probability 0.2. These are the paper's ImageNet settings (App.), with
    lightly's 6 local crops (the paper: 8). Unlike lightly, whose second global view keeps
    strength 0.5 whatever ``cj_strength`` is, every view uses ``cj_strength``.

    ``gaussian_blur``: the blur probabilities of (first global, second global, local) views.

    Returns:
        A list of ``2 + n_local_views`` float tensors: two ``(3, global_crop_size,
        global_crop_size)``, then ``(3, local_crop_size, local_crop_size)``.
    """

    def __init__(
        self,
        global_crop_size: int = 224,
        global_crop_scale: tuple[float, float] = (0.4, 1.0),
        local_crop_size: int = 96,
        local_crop_scale: tuple[float, float] = (0.05, 0.4),
        n_local_views: int = 6,
        hf_prob: float = 0.5,
        vf_prob: float = 0.0,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        cj_prob: float = 0.8,
        cj_strength: float = 0.5,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.4,
        cj_hue: float = 0.2,
        random_gray_scale: float = 0.2,
        gaussian_blur: tuple[float, float, float] = (1.0, 0.1, 0.5),
        sigmas: tuple[float, float] = (0.1, 2.0),
        solarization_prob: float = 0.2,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        shared = dict(
            hf_prob=hf_prob, vf_prob=vf_prob, rr_prob=rr_prob, rr_degrees=rr_degrees,
            cj_prob=cj_prob, cj_strength=cj_strength, cj_bright=cj_bright,
            cj_contrast=cj_contrast, cj_sat=cj_sat, cj_hue=cj_hue,
            random_gray_scale=random_gray_scale, sigmas=sigmas, normalize=normalize,
        )  # fmt: skip
        global_view = dict(crop_size=global_crop_size, crop_scale=global_crop_scale, **shared)
        first = DINOViewTransform(
            gaussian_blur=gaussian_blur[0], solarization_prob=0.0, **global_view
        )
        second = DINOViewTransform(
            gaussian_blur=gaussian_blur[1], solarization_prob=solarization_prob, **global_view
        )
        local = DINOViewTransform(
            crop_size=local_crop_size,
            crop_scale=local_crop_scale,
            gaussian_blur=gaussian_blur[2],
            solarization_prob=0.0,
            **shared,
        )
        super().__init__([first, second] + [local] * n_local_views)
