"""VICReg's two-view augmentation as lightly has it (Bardes et al., 2022, arXiv:2105.04906)."""

from __future__ import annotations

from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.transforms.view_transform import ViewTransform


class VICRegViewTransform(ViewTransform):
    """One view with VICReg's settings (see :class:`VICRegTransform`); solarizes before it blurs.

    Returns:
        A float tensor ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        input_size: int = 224,
        cj_prob: float = 0.8,
        cj_strength: float = 0.5,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.4,
        cj_hue: float = 0.2,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        solarize_prob: float = 0.1,
        gaussian_blur: float = 0.5,
        sigmas: tuple[float, float] = (0.2, 2.0),
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
            solarization_prob=solarize_prob,
            solarize_before_blur=True,
        )


class VICRegTransform(MultiViewTransform):
    """Two views of an image, each a :class:`VICRegViewTransform` with the same settings.

    The defaults are lightly's: crops of 8-100% of the area, a horizontal flip with probability
    0.5, colour jitter (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1) with probability
    0.8, grayscale with probability 0.2, solarization with probability 0.1, blur with probability
    0.5. The paper's own views are BYOL's two asymmetric ones (blur 1.0 and 0.1, solarization 0
    and 0.2); these are one symmetric view in between, drawn twice. For BYOL's views use
    :class:`~lightly_min.transforms.byol_transform.BYOLTransform`.

    Returns:
        A list of two float tensors ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        input_size: int = 224,
        cj_prob: float = 0.8,
        cj_strength: float = 0.5,
        cj_bright: float = 0.8,
        cj_contrast: float = 0.8,
        cj_sat: float = 0.4,
        cj_hue: float = 0.2,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        solarize_prob: float = 0.1,
        gaussian_blur: float = 0.5,
        sigmas: tuple[float, float] = (0.1, 2.0),
        vf_prob: float = 0.0,
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
    ) -> None:
        view = VICRegViewTransform(
            input_size=input_size,
            cj_prob=cj_prob,
            cj_strength=cj_strength,
            cj_bright=cj_bright,
            cj_contrast=cj_contrast,
            cj_sat=cj_sat,
            cj_hue=cj_hue,
            min_scale=min_scale,
            random_gray_scale=random_gray_scale,
            solarize_prob=solarize_prob,
            gaussian_blur=gaussian_blur,
            sigmas=sigmas,
            vf_prob=vf_prob,
            hf_prob=hf_prob,
            rr_prob=rr_prob,
            rr_degrees=rr_degrees,
            normalize=normalize,
        )
        super().__init__([view, view])
