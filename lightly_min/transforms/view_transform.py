"""The augmentation pipeline of one view, shared by every method's view transforms."""

from __future__ import annotations

from typing import Any

import torch
import torchvision
import torchvision.transforms as T

from lightly_min.transforms.gaussian_blur import GaussianBlur
from lightly_min.transforms.rgb import ToRGB
from lightly_min.transforms.solarize import RandomSolarization


class ViewTransform:
    """One randomly augmented view, following SimCLR's recipe (Chen et al., 2020, App. A).

    In order, each applied only when its probability is above zero: random resized crop to
    ``input_size`` (area ``min_scale`` to ``max_scale``, resized with ``interpolation``),
    rotation, horizontal and vertical flips, colour jitter, grayscale, Gaussian blur,
    solarization (before the blur when ``solarize_before_blur``), conversion to a float
    tensor and normalisation. Every step is a torchvision transform, but the blur
    (:class:`~.gaussian_blur.GaussianBlur`). The methods' view transforms
    (:class:`~.simclr_transform.SimCLRViewTransform` and its siblings) give it their defaults.
    Colour-jitter strengths are ``cj_strength`` times ``cj_bright``, ``cj_contrast``,
    ``cj_sat`` and ``cj_hue``.

    Input: see :class:`~lightly_min.transforms.rgb.ToRGB`. Output: ``(3, input_size,
    input_size)`` float32 tensor, normalised with ``normalize["mean"]`` and ``["std"]``, or in
    [0, 1] when ``normalize`` is ``None``.
    """

    def __init__(
        self,
        *,
        input_size: int,
        cj_prob: float,
        cj_strength: float,
        cj_bright: float,
        cj_contrast: float,
        cj_sat: float,
        cj_hue: float,
        min_scale: float,
        random_gray_scale: float,
        gaussian_blur: float,
        sigmas: tuple[float, float],
        vf_prob: float,
        hf_prob: float,
        rr_prob: float,
        rr_degrees: float | tuple[float, float] | None,
        normalize: dict[str, list[float]] | None,
        solarization_prob: float = 0.0,
        solarize_before_blur: bool = False,
        max_scale: float = 1.0,
        interpolation: torchvision.transforms.InterpolationMode = T.InterpolationMode.BILINEAR,
    ) -> None:
        crop = T.RandomResizedCrop(
            input_size, scale=(min_scale, max_scale), interpolation=interpolation
        )
        steps: list[Any] = [ToRGB(), crop]
        if rr_prob > 0:
            degrees = (90.0, 90.0) if rr_degrees is None else rr_degrees
            steps.append(T.RandomApply([T.RandomRotation(degrees)], p=rr_prob))
        if hf_prob > 0:
            steps.append(T.RandomHorizontalFlip(p=hf_prob))
        if vf_prob > 0:
            steps.append(T.RandomVerticalFlip(p=vf_prob))
        if cj_prob > 0:
            jitter = T.ColorJitter(
                brightness=cj_strength * cj_bright,
                contrast=cj_strength * cj_contrast,
                saturation=cj_strength * cj_sat,
                hue=cj_strength * cj_hue,
            )
            steps.append(T.RandomApply([jitter], p=cj_prob))
        if random_gray_scale > 0:
            steps.append(T.RandomGrayscale(p=random_gray_scale))
        blur_and_solarize: list[Any] = []
        if gaussian_blur > 0:
            blur_and_solarize.append(GaussianBlur(prob=gaussian_blur, sigmas=sigmas))
        if solarization_prob > 0:
            blur_and_solarize.append(RandomSolarization(prob=solarization_prob))
        steps.extend(reversed(blur_and_solarize) if solarize_before_blur else blur_and_solarize)
        steps.append(T.ToTensor())
        if normalize is not None:
            steps.append(T.Normalize(mean=normalize["mean"], std=normalize["std"]))
        self.transform = T.Compose(steps)

    def __call__(self, image: Any) -> torch.Tensor:
        return self.transform(image)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform})"
