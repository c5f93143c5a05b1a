"""BYOL's two asymmetric views (Grill et al., 2020, arXiv:2006.07733, App. B, Table 6)."""

from __future__ import annotations

from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.transforms.view_transform import ViewTransform


class BYOLView1Transform(ViewTransform):
    """BYOL's first view: always blurred, never solarized (Table 6, the column of ``T``).

    Crops of 8-100% of the area, a horizontal flip with probability 0.5, colour jitter
    (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1) with probability 0.8, grayscale
    with probability 0.2, Gaussian blur with probability 1.0, no solarization.

    Returns:
        A float tensor ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        input_size: int = 224,
        cj_prob: float = 0.8,
        cj_strength: float = 1.0,
        cj_bright: float = 0.4,
        cj_contrast: float = 0.4,
        cj_sat: float = 0.2,
        cj_hue: float = 0.1,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 1.0,
        sigmas: tuple[float, float] = (0.1, 2.0),
        vf_prob: float = 0.0,
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
        solarization_prob: float = 0.0,
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
            solarization_prob=solarization_prob,
        )


class BYOLView2Transform(ViewTransform):
    """BYOL's second view: rarely blurred (probability 0.1), solarized with probability 0.2
    (Table 6, the column of ``T'``); otherwise as :class:`BYOLView1Transform`.

    Returns:
        A float tensor ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        input_size: int = 224,
        cj_prob: float = 0.8,
        cj_strength: float = 1.0,
        cj_bright: float = 0.4,
        cj_contrast: float = 0.4,
        cj_sat: float = 0.2,
        cj_hue: float = 0.1,
        min_scale: float = 0.08,
        random_gray_scale: float = 0.2,
        gaussian_blur: float = 0.1,
        sigmas: tuple[float, float] = (0.1, 2.0),
        vf_prob: float = 0.0,
        hf_prob: float = 0.5,
        rr_prob: float = 0.0,
        rr_degrees: float | tuple[float, float] | None = None,
        normalize: dict[str, list[float]] | None = IMAGENET_NORMALIZE,
        solarization_prob: float = 0.2,
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
            solarization_prob=solarization_prob,
        )


class BYOLTransform(MultiViewTransform):
    """Two views of an image: one from each of BYOL's two view transforms.

    The two views differ on purpose: the first is always blurred and never solarized, the
    second is rarely blurred and sometimes solarized. Pass your own view transforms to change
    the settings, e.g. ``BYOLTransform(BYOLView1Transform(input_size=32, gaussian_blur=0.0),
    BYOLView2Transform(input_size=32, gaussian_blur=0.0))``.

    Returns:
        A list of two float tensors ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        view_1_transform: BYOLView1Transform | None = None,
        view_2_transform: BYOLView2Transform | None = None,
    ) -> None:
        super().__init__(
            [view_1_transform or BYOLView1Transform(), view_2_transform or BYOLView2Transform()]
        )
