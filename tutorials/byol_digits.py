"""
.. _tutorial-byol:

BYOL on handwritten digits
==========================

:doc:`BYOL </methods/byol>` on 4,000 digits without labels, as in the :ref:`SimSiam
tutorial <tutorial-simsiam>`; each change to the examples' CIFAR-10 recipe is explained.
"""

import copy

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import BYOLPredictionHead, BYOLProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18
from lightly_min.utils.scheduler import cosine_schedule

tutorial = DigitsTutorial("byol", "BYOL", epochs=40, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# BYOL's two views differ on purpose: on ImageNet the first is always blurred, the
# second sometimes solarized. Here both get the SimSiam tutorial's changes and no
# solarization, which would erase the strokes (the bright pixels).

digit_view = dict(
    input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    min_scale=0.4,  # larger crops than ImageNet's 0.08
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast only
    random_gray_scale=0.0, gaussian_blur=0.0,  # already grey; no blur at 32 pixels
    solarization_prob=0.0,  # it would erase the digit
)  # fmt: skip
views = [BYOLView1Transform(**digit_view), BYOLView2Transform(**digit_view)]
transform = BYOLTransform(*views)
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# The :doc:`example's </methods/byol>` structure, smaller: a half-width ResNet-18,
# projector and predictor of width 1024, and the target: a momentum copy of both.


class BYOL(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = BYOLProjectionHead(256, 1024, 256)
        self.prediction_head = BYOLPredictionHead(256, 1024, 256)
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x):  # the online network's prediction
        return self.prediction_head(self.projection_head(self.backbone(x)))

    def forward_momentum(self, x):  # the target network's projection, a constant
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()


model = BYOL().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: before each step the target moves towards the online network
# (momentum 0.99 to 1 along a cosine); each view's prediction meets the other view's
# target projection. As for SimSiam: 0.12 per 256 images, the predictor at ten times
# that, constant (at the encoder's rate, held-out accuracy fell below the untrained
# network's; :doc:`/benchmarks` lists runs b1 to b7).

loader = tutorial.train_loader(transform)
criterion = NegativeCosineSimilarity()
lr = 0.12 * tutorial.batch_size / 256
optimizer = torch.optim.SGD([
    {"params": [*model.backbone.parameters(), *model.projection_head.parameters()]},
    {"params": model.prediction_head.parameters(), "lr": 10 * lr},
], lr=lr, momentum=0.9, weight_decay=5e-4)  # fmt: skip
scheduler = LambdaLR(optimizer, [tutorial.cosine, lambda epoch: 1.0])  # predictor's: 1

for epoch in tutorial.training(model.backbone):  # measures each epoch, held out
    model.train()
    for step, ((x0, x1), _) in enumerate(loader, start=epoch * len(loader)):
        momentum = cosine_schedule(step, tutorial.epochs * len(loader), 0.99, 1.0)
        update_momentum(model.backbone, model.backbone_momentum, momentum)
        update_momentum(model.projection_head, model.projection_head_momentum, momentum)
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            p0, p1 = model(x0), model(x1)
            z0, z1 = model.forward_momentum(x0), model.forward_momentum(x1)
            loss = 0.5 * (criterion(p0, z1) + criterion(p1, z0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, z0)  # for the loss and collapse monitor
    scheduler.step()
figure = tutorial.plot_history(projection_dim=256)  # monitor: on target projections

# %%
# After training
# --------------
# The same digits' nearest neighbours now; then the map of all 1,000 held-out digits.

figure = tutorial.plot_neighbours(model.backbone, "after training")

# %%

# sphinx_gallery_thumbnail_number = 5
figure = tutorial.plot_map(model.backbone)
results = tutorial.report(model.backbone)  # held-out accuracy against both baselines
