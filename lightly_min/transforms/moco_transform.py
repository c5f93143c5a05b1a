"""MoCo's two-view augmentations (He et al., 2020, arXiv:1911.05722; v2: arXiv:2003.04297)."""

from __future__ import annotations

from lightly_min.transforms.simclr_transform import SimCLRTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE


class MoCoV2Transform(SimCLRTransform):
    """Two views of an image with MoCo v2's settings: SimCLR's augmentation with weaker
    colour jitter (0.4, 0.4, 0.4, 0.1) with probability 0.8, crops of 20-100% of the area,
    grayscale with probability 0.2 and blur with probability 0.5, as in MoCo v2's reference code
    (``main_moco.py --aug-plus``). For 32 px images leave the blur out (``gaussian_blur=0``).

    Returns:
        A list of two float tensors ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        input_size: int = 224,
        cj_prob: float = 0.8,
        cj_strength: float = 1.0,
        cj_bright: float = 0.4,
        cj_contrast: float = 0.4,
        cj_sat: float = 0.4,
        cj_hue: float = 0.1,
        min_scale: float = 0.2,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 0.5,
        sigmas: tuple[float, float] = (0.1, 2.0),
        vf_prob: float = 0.0,
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        super().__init__(
            input_size=input_size,
            cj_prob=cj_prob,
            cj_strength=cj_strength,
            cj_bright=cj_bright,
            cj_contrast=cj_contrast,
            cj_sat=cj_sat,
            cj_hue=cj_hue,
            min_scale=min_scale,
            random_gray_scale=random_gray_scale,
            gaussian_blur=gaussian_blur,
            sigmas=sigmas,
            vf_prob=vf_prob,
            hf_prob=hf_prob,
            rr_prob=rr_prob,
            rr_degrees=rr_degrees,
            normalize=normalize,
        )
