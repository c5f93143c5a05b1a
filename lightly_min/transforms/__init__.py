"""Image augmentations that turn one image into several views."""

from lightly_min.transforms.byol_transform import (
    BYOLTransform,
    BYOLView1Transform,
    BYOLView2Transform,
)
from lightly_min.transforms.dino_transform import DINOTransform, DINOViewTransform
from lightly_min.transforms.fast_siam_transform import FastSiamTransform
from lightly_min.transforms.gaussian_blur import GaussianBlur
from lightly_min.transforms.moco_transform import MoCoV2Transform
from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.transforms.rgb import ToRGB
from lightly_min.transforms.simclr_transform import SimCLRTransform, SimCLRViewTransform
from lightly_min.transforms.simsiam_transform import SimSiamTransform, SimSiamViewTransform
from lightly_min.transforms.solarize import RandomSolarization
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.transforms.vicreg_transform import VICRegTransform, VICRegViewTransform
from lightly_min.transforms.view_transform import ViewTransform

__all__ = [
    "IMAGENET_NORMALIZE",
    "BYOLTransform",
    "BYOLView1Transform",
    "BYOLView2Transform",
    "DINOTransform",
    "DINOViewTransform",
    "FastSiamTransform",
    "GaussianBlur",
    "MoCoV2Transform",
    "MultiViewTransform",
    "RandomSolarization",
    "SimCLRTransform",
    "SimCLRViewTransform",
    "SimSiamTransform",
    "SimSiamViewTransform",
    "ToRGB",
    "VICRegTransform",
    "VICRegViewTransform",
    "ViewTransform",
]
