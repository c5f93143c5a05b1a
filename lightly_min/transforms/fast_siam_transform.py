"""FastSiam's multi-view augmentation (Pototzky et al., GCPR 2022)."""

from __future__ import annotations

from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.transforms.simsiam_transform import SimSiamViewTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE


class FastSiamTransform(MultiViewTransform):
    """``num_views`` views of an image, each a
    :class:`~lightly_min.transforms.simsiam_transform.SimSiamViewTransform`.

    FastSiam matches each view's prediction to the mean projection of the other views, so it
    needs more than two views (4 by default).

    Returns:
        A list of ``num_views`` float tensors ``(3, input_size, input_size)``.
    """

    def __init__(
        self,
        num_views: int = 4,
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
        if num_views < 2:
            raise ValueError(
                f"FastSiamTransform needs num_views >= 2 (FastSiam uses 4), got {num_views}."
            )
        view = SimSiamViewTransform(
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
        super().__init__([view] * num_views)
