"""The benchmarks' configurations: the examples' (for speed) and the digits' (for learning).

``examples_recipe`` copies ``examples/pytorch/<method>.py``. ``digits_recipe`` is what
learns on 28 px MNIST digits within about three minutes per run on a 2-core CPU; how it was
found is in ``results/tuning_log.md`` (every configuration tried, from ``tuning_base``).
"""

from __future__ import annotations

from typing import Any

from digits import MNIST_NORMALIZE
from methods import Recipe

#: The transforms' settings for digits that every tuning run starts from: no flips (a
#: mirrored 2 is no digit), no colour (the digits are grey), no blur, MNIST's normalisation.
DIGIT_TRANSFORM: dict[str, Any] = {
    "hf_prob": 0.0,
    "cj_prob": 0.0,
    "random_gray_scale": 0.0,
    "gaussian_blur": 0.0,
    "normalize": MNIST_NORMALIZE,
}


def examples_recipe(method: str, batch_size: int = 256, num_workers: int = 4) -> Recipe:
    """The configuration of ``examples/pytorch/<method>.py`` (CIFAR-10 settings, 32 px)."""
    transform: dict[str, Any] = {"gaussian_blur": 0.0}
    if method == "simclr":
        transform["cj_strength"] = 0.5
        widths = {"proj_hidden_dim": 512, "proj_output_dim": 128}
    else:
        widths = {"proj_hidden_dim": 2048, "proj_output_dim": 2048, "pred_hidden_dim": 512}
    return Recipe(
        method=method,
        backbone="resnet18-cifar",
        input_size=32,
        batch_size=batch_size,
        lr=0.06,
        num_views=4 if method == "fastsiam" else 2,
        transform=transform,
        num_workers=num_workers,
        **widths,
    )


def tuning_base(method: str) -> Recipe:
    """Where the tuning started: torchvision's ResNet-18 on 28 px digits, the examples'
    heads and optimiser, :data:`DIGIT_TRANSFORM` with the methods' default crops."""
    widths: dict[str, Any] = {}
    if method == "simclr":
        widths = {"proj_hidden_dim": 512, "proj_output_dim": 128}
    return Recipe(
        method=method,
        backbone="resnet18",
        input_size=28,
        epochs=10,
        batch_size=128,
        lr=0.06,
        num_views=4 if method == "fastsiam" else 2,
        transform={**DIGIT_TRANSFORM, "min_scale": 0.2},
        **widths,
    )


#: The digit recipes: what each method changes in :func:`tuning_base`. All three use the
#: half-width ResNet-18 on 32 px digits (an epoch in less than half the time), with the epochs
#: chosen so that every run takes about three minutes here; crops of 40-100% of the digit,
#: rotations of up to 20 degrees (half of the views) and brightness / contrast jitter (the
#: transforms' own strengths; saturation and hue do nothing to grey digits). SimSiam and
#: FastSiam need the predictor to learn 10x faster than the encoder and a doubled learning
#: rate; without these, their kNN accuracy falls during training (tuning log, s6-s10).
DIGIT_AUGMENTATION: dict[str, Any] = {
    "min_scale": 0.4,
    "rr_prob": 0.5,
    "rr_degrees": 20.0,
    "cj_prob": 0.8,
    "cj_sat": 0.0,
    "cj_hue": 0.0,
}
DIGITS_SHARED: dict[str, Any] = {
    "backbone": "resnet18-half",
    "input_size": 32,
    "transform": DIGIT_AUGMENTATION,
}
SIAMESE: dict[str, Any] = {
    "lr": 0.12,
    "pred_lr_factor": 10.0,
    "proj_hidden_dim": 1024,
    "proj_output_dim": 1024,
    "pred_hidden_dim": 256,
}
DIGITS_CHANGES: dict[str, dict[str, Any]] = {
    "simsiam": {**DIGITS_SHARED, **SIAMESE, "epochs": 30},
    "fastsiam": {**DIGITS_SHARED, **SIAMESE, "epochs": 15},
    "simclr": {**DIGITS_SHARED, "epochs": 30, "temperature": 0.2},
}


def digits_recipe(method: str, quick: bool = False) -> Recipe:
    """The benchmark's recipe for ``method`` on digits; ``quick``: 1 epoch of batch 32."""
    recipe = tuning_base(method).replace(**DIGITS_CHANGES[method])
    if quick:
        recipe = recipe.replace(epochs=1, batch_size=32)
    return recipe
