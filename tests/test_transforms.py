import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

from lightly_min.transforms import (
    IMAGENET_NORMALIZE,
    BYOLTransform,
    BYOLView1Transform,
    BYOLView2Transform,
    FastSiamTransform,
    GaussianBlur,
    MultiViewTransform,
    RandomSolarization,
    SimCLRTransform,
    SimSiamTransform,
    VICRegTransform,
)
from lightly_min.transforms.byol_transform import BYOLTransform as BYOLFromModule
from lightly_min.transforms.fast_siam_transform import FastSiamTransform as FastSiamFromModule
from lightly_min.transforms.simclr_transform import SimCLRTransform as SimCLRFromModule
from lightly_min.transforms.simclr_transform import SimCLRViewTransform
from lightly_min.transforms.simsiam_transform import SimSiamTransform as SimSiamFromModule
from lightly_min.transforms.simsiam_transform import SimSiamViewTransform
from lightly_min.transforms.vicreg_transform import VICRegTransform as VICRegFromModule
from lightly_min.transforms.vicreg_transform import VICRegViewTransform

MEAN = torch.tensor(IMAGENET_NORMALIZE["mean"]).view(3, 1, 1)
STD = torch.tensor(IMAGENET_NORMALIZE["std"]).view(3, 1, 1)


def noise_image(size: int = 48, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).convert(mode)


def steps(transform) -> list:
    return transform.transforms[0].transform.transforms


def step(transform, kind):
    found = [s for s in steps(transform) if isinstance(s, kind)]
    found += [t for s in steps(transform) if isinstance(s, T.RandomApply) for t in s.transforms]
    return [s for s in found if isinstance(s, kind)]


@pytest.mark.parametrize(
    "make, views",
    [
        (lambda: SimCLRFromModule(input_size=24), 2),
        (lambda: SimSiamFromModule(input_size=24), 2),
        (lambda: FastSiamFromModule(input_size=24), 4),
        (lambda: BYOLFromModule(BYOLView1Transform(24), BYOLView2Transform(24)), 2),
        (lambda: VICRegFromModule(input_size=24), 2),
    ],
    ids=["simclr", "simsiam", "fastsiam", "byol", "vicreg"],
)
def test_lightlys_module_paths_give_working_transforms(make, views):
    """Code written for lightly imports each transform from its own module: each of those gives
    the method's views of an image, at the size asked for."""
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8))
    out = make()(image)
    assert len(out) == views and all(view.shape == (3, 24, 24) for view in out)


def test_method_transforms_are_views_of_their_view_transforms():
    assert all(isinstance(v, SimCLRViewTransform) for v in SimCLRTransform().transforms)
    assert all(isinstance(v, SimSiamViewTransform) for v in SimSiamTransform().transforms)
    assert all(isinstance(v, SimSiamViewTransform) for v in FastSiamTransform().transforms)
    view_1, view_2 = BYOLTransform().transforms
    assert isinstance(view_1, BYOLView1Transform) and isinstance(view_2, BYOLView2Transform)
    assert all(isinstance(v, VICRegViewTransform) for v in VICRegTransform().transforms)


def test_vicreg_views_follow_lightly_and_solarize_before_they_blur():
    vicreg = VICRegTransform()
    (crop,) = step(vicreg, T.RandomResizedCrop)
    assert crop.size == (224, 224) and crop.scale == (0.08, 1.0)
    (jitter,) = step(vicreg, T.ColorJitter)  # strength 0.5 of (0.8, 0.8, 0.4, 0.2)
    assert jitter.brightness == pytest.approx((0.6, 1.4))
    assert jitter.saturation == pytest.approx((0.8, 1.2))
    assert jitter.hue == pytest.approx((-0.1, 0.1))
    assert step(vicreg, T.RandomGrayscale)[0].p == 0.2
    assert step(vicreg, T.RandomHorizontalFlip)[0].p == 0.5
    kinds = [type(s) for s in steps(vicreg)]
    assert kinds.index(RandomSolarization) + 1 == kinds.index(GaussianBlur)
    (solarize,) = step(vicreg, RandomSolarization)
    (blur,) = step(vicreg, GaussianBlur)
    assert (solarize.p, blur.prob, blur.sigmas) == (0.1, 0.5, (0.1, 2.0))
    own = VICRegViewTransform().transform.transforms
    (own_blur,) = [s for s in own if isinstance(s, GaussianBlur)]
    assert own_blur.sigmas == (0.2, 2.0)  # the view's own default, as in lightly


def test_byol_views_are_asymmetric_as_in_the_paper():
    """Table 6 of BYOL: blur with probability 1.0 and 0.1, solarization 0.0 and 0.2."""
    view_1, view_2 = BYOLTransform().transforms
    blur_1, blur_2 = (
        [s for s in view.transform.transforms if isinstance(s, GaussianBlur)][0]
        for view in (view_1, view_2)
    )
    assert (blur_1.prob, blur_2.prob) == (1.0, 0.1)
    solarize_1 = [s for s in view_1.transform.transforms if isinstance(s, RandomSolarization)]
    (solarize_2,) = [s for s in view_2.transform.transforms if isinstance(s, RandomSolarization)]
    assert solarize_1 == [] and solarize_2.p == 0.2
    jitter = [t for s in view_1.transform.transforms if isinstance(s, T.RandomApply)
              for t in s.transforms][0]  # fmt: skip
    assert jitter.brightness == pytest.approx((0.6, 1.4))
    assert jitter.saturation == pytest.approx((0.8, 1.2))


def test_byol_second_view_solarizes_about_one_image_in_five():
    # Everything else off: a bright grey image comes out inverted (solarized) or unchanged.
    settings = dict(input_size=4, cj_prob=0, random_gray_scale=0, gaussian_blur=0, hf_prob=0)
    transform = BYOLTransform(
        BYOLView1Transform(**settings, normalize=None),
        BYOLView2Transform(**settings, normalize=None),
    )
    torch.manual_seed(0)
    image = Image.new("RGB", (4, 4), (200, 200, 200))
    firsts, seconds = zip(*[transform(image) for _ in range(400)])
    assert all(torch.allclose(v, torch.full_like(v, 200 / 255)) for v in firsts)
    solarized = sum(torch.allclose(v, torch.full_like(v, 55 / 255)) for v in seconds)
    assert 50 <= solarized <= 110  # binomial(400, 0.2): mean 80, std 8


@pytest.mark.parametrize(
    "transform, views",
    [
        (SimCLRTransform(input_size=32), 2),
        (SimSiamTransform(input_size=32), 2),
        (FastSiamTransform(input_size=32), 4),
        (FastSiamTransform(num_views=6, input_size=32), 6),
    ],
)
def test_number_shape_dtype_and_range_of_views(transform, views):
    out = transform(noise_image())
    assert len(out) == views
    for view in out:
        assert view.shape == (3, 32, 32) and view.dtype == torch.float32
        # Normalised values of pixels in [0, 1]: within [(0 - mean) / std, (1 - mean) / std].
        assert (view >= (0 - MEAN) / STD - 1e-5).all() and (view <= (1 - MEAN) / STD + 1e-5).all()


def test_views_without_normalisation_lie_in_unit_interval():
    for view in SimCLRTransform(input_size=16, normalize=None)(noise_image()):
        assert view.min() >= 0.0 and view.max() <= 1.0


def test_identity_settings_give_the_normalised_pixel_values():
    # All randomness off and a full crop of a square image: a known answer per channel.
    transform = SimCLRTransform(
        input_size=8, cj_prob=0, min_scale=1.0, random_gray_scale=0, gaussian_blur=0, hf_prob=0
    )
    image = Image.new("RGB", (8, 8), (200, 100, 50))
    expected = (torch.tensor([200, 100, 50]).view(3, 1, 1) / 255 - MEAN) / STD
    for view in transform(image):
        torch.testing.assert_close(view, expected.expand(3, 8, 8))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "1"])
def test_any_pil_mode_becomes_three_channels(mode):
    for view in SimSiamTransform(input_size=24)(noise_image(mode=mode)):
        assert view.shape == (3, 24, 24)


def test_grayscale_input_gives_equal_channels_before_normalisation():
    transform = SimCLRTransform(input_size=16, normalize=None, cj_prob=0, gaussian_blur=0)
    for view in transform(noise_image(mode="L")):
        torch.testing.assert_close(view[0], view[1])
        torch.testing.assert_close(view[1], view[2])


@pytest.mark.parametrize(
    "image",
    [
        torch.randint(0, 256, (3, 40, 40), dtype=torch.uint8),
        torch.randint(0, 256, (1, 40, 40), dtype=torch.uint8),
        torch.rand(4, 40, 40),
        torch.rand(40, 40),
        np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8),
        np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8),
    ],
    ids=["uint8-rgb", "uint8-gray", "float-rgba", "float-2d", "numpy-hwc", "numpy-hw"],
)
def test_tensor_and_array_inputs(image):
    for view in FastSiamTransform(input_size=32)(image):
        assert view.shape == (3, 32, 32) and view.dtype == torch.float32


def test_seeded_views_are_reproducible():
    transform, image = SimCLRTransform(input_size=32), noise_image()
    torch.manual_seed(7)
    first = transform(image)
    torch.manual_seed(7)
    second = transform(image)
    torch.manual_seed(8)
    third = transform(image)
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(first[0], third[0])
    assert not torch.allclose(first[0], first[1])  # the two views differ


def test_default_settings_follow_lightly():
    simclr, simsiam = SimCLRTransform(), SimSiamTransform()
    (crop,) = step(simclr, T.RandomResizedCrop)
    assert crop.size == (224, 224) and crop.scale == (0.08, 1.0)
    (jitter,) = step(simclr, T.ColorJitter)
    assert jitter.brightness == pytest.approx((0.2, 1.8)) and jitter.hue == pytest.approx(
        (-0.2, 0.2)
    )
    (apply_jitter,) = [s for s in steps(simclr) if isinstance(s, T.RandomApply)]
    assert apply_jitter.p == 0.8
    assert step(simclr, T.RandomGrayscale)[0].p == 0.2
    assert step(simclr, T.RandomHorizontalFlip)[0].p == 0.5
    assert step(simclr, T.RandomVerticalFlip) == []  # vf_prob=0 by default
    blur = step(simclr, GaussianBlur)[0]
    assert (blur.prob, blur.sigmas) == (0.5, (0.1, 2.0))
    assert step(simclr, T.Normalize)[0].mean == IMAGENET_NORMALIZE["mean"]

    (crop,) = step(simsiam, T.RandomResizedCrop)
    assert crop.scale == (0.2, 1.0)
    (jitter,) = step(simsiam, T.ColorJitter)
    assert jitter.saturation == pytest.approx((0.6, 1.4)) and jitter.hue == pytest.approx(
        (-0.1, 0.1)
    )
    assert len(FastSiamTransform().transforms) == 4


def test_disabled_augmentations_are_left_out():
    transform = SimCLRTransform(cj_prob=0, gaussian_blur=0, random_gray_scale=0, normalize=None)
    kinds = {type(s) for s in steps(transform)}
    assert not kinds & {T.RandomApply, GaussianBlur, T.RandomGrayscale, T.Normalize}


def test_cj_strength_scales_the_jitter():
    (jitter,) = step(SimCLRTransform(cj_strength=0.5), T.ColorJitter)
    assert jitter.brightness == pytest.approx((0.6, 1.4)) and jitter.hue == pytest.approx(
        (-0.1, 0.1)
    )


def test_random_rotation_by_ninety_degrees():
    transform = SimCLRTransform(
        input_size=4, rr_prob=1.0, cj_prob=0, min_scale=1.0, random_gray_scale=0,
        gaussian_blur=0, hf_prob=0, normalize=None,
    )  # fmt: skip
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    pixels[0, :] = 255  # top row white
    view = transform(Image.fromarray(pixels))[0]
    assert (view[:, :, 0] == 1).all() and view[:, :, 1:].sum() == 0  # now the left column


@pytest.mark.parametrize("bad", ["image.png", [1, 2, 3], 3.0])
def test_unsupported_input_type_names_the_type_and_the_fix(bad):
    with pytest.raises(TypeError, match=rf"PIL image.*got builtins\.{type(bad).__name__}"):
        SimCLRTransform(input_size=32)(bad)


def test_a_batch_instead_of_an_image_is_rejected():
    with pytest.raises(ValueError, match=r"one image.*\(8, 3, 32, 32\).*Dataset"):
        SimSiamTransform(input_size=32)(torch.rand(8, 3, 32, 32))


def test_fastsiam_needs_two_views():
    with pytest.raises(ValueError, match="num_views >= 2"):
        FastSiamTransform(num_views=1)


def test_multi_view_transform_applies_each_transform():
    transform = MultiViewTransform([lambda x: x + 1, lambda x: x * 10])
    assert transform(2) == [3, 20]
    with pytest.raises(ValueError, match="at least one transform"):
        MultiViewTransform([])


def test_gaussian_blur_smooths_and_respects_probability():
    image = noise_image(64)
    original = np.asarray(image, dtype=np.float64)
    assert np.array_equal(np.asarray(GaussianBlur(prob=0.0)(image)), original)
    blurred = np.asarray(GaussianBlur(prob=1.0, sigmas=(2.0, 2.0))(image), dtype=np.float64)
    # Blurring i.i.d. noise averages neighbours: the pixel variance drops a lot.
    assert blurred.var() < 0.25 * original.var()
    tensor = torch.rand(3, 64, 64)
    assert GaussianBlur(prob=1.0, sigmas=(2.0, 2.0))(tensor).var() < 0.25 * tensor.var()
    with pytest.raises(ValueError, match="0 <= prob <= 1"):
        GaussianBlur(prob=1.5)


def test_random_solarization_inverts_pixels_above_threshold():
    image = Image.fromarray(np.array([[[200, 100, 128]]], dtype=np.uint8))
    assert np.asarray(RandomSolarization(prob=1.0)(image)).tolist() == [[[55, 100, 127]]]
    assert np.asarray(RandomSolarization(prob=0.0)(image)).tolist() == [[[200, 100, 128]]]
