"""
.. _tutorial-moco:

MoCo on handwritten digits
==========================

:doc:`MoCo v2 </methods/moco>` on 4,000 digits without labels, as in the :ref:`SimSiam
tutorial <tutorial-simsiam>`; each change to the examples' CIFAR-10 recipe is explained.
"""

import copy

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import MoCoProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.transforms.moco_transform import MoCoV2Transform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18

tutorial = DigitsTutorial("moco", "MoCo", epochs=30, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# MoCo v2's two views come from one transform. The changes for digits are the
# :ref:`SimSiam tutorial's <tutorial-simsiam>`: small rotations instead of flips, crops
# of at least 40% of the digit, brightness and contrast only, and no blur.

transform = MoCoV2Transform(
    input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    min_scale=0.4,  # larger crops than ImageNet's 0.2
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast only
    random_gray_scale=0.0, gaussian_blur=0.0,  # already grey; no blur at 32 pixels
)  # fmt: skip
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# The :doc:`example's </methods/moco>` structure, smaller: a half-width ResNet-18 (256
# features), a head 256 wide, and the key encoder: a momentum copy of both.


class MoCo(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = MoCoProjectionHead(256, 256, 128)
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x):  # the queries
        return self.projection_head(self.backbone(x))

    def forward_momentum(self, x):  # the keys, constants
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()


model = MoCo().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: before each step the key encoder moves towards the query encoder
# (momentum 0.99); each image's query meets its other view's key as the positive, and
# the queue's keys as negatives, at temperature 0.2. The queue holds 1,024 keys, 8
# batches, a quarter of the 4,000 digits: it never holds an earlier key of an image in
# the batch (it would, with more keys than the data set minus a batch). SGD with
# a cosine schedule at 0.03 per 256 images, the BYOL example's rate. Both were found by
# trying, one seed each: the SimCLR tutorial's 0.06 with 2,048 keys ended at kNN 0.898,
# 0.06 with 1,024 keys at 0.913, 0.03 with 1,024 at 0.930 (runs m1 to m6 in
# :doc:`/benchmarks`). The examples' batch shuffle is left out: in one process it
# changes no BatchNorm statistics.

loader = tutorial.train_loader(transform)
criterion = NTXentLoss(temperature=0.2, memory_bank_size=(1024, 128))
criterion.to(tutorial.device)  # the queue, on the model's device
lr = 0.03 * tutorial.batch_size / 256
optimizer = torch.optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=5e-4)
scheduler = LambdaLR(optimizer, tutorial.cosine)

for _epoch in tutorial.training(model.backbone):  # measures each epoch, held out
    model.train()
    for (x0, x1), _ in loader:
        update_momentum(model.backbone, model.backbone_momentum, 0.99)
        update_momentum(model.projection_head, model.projection_head_momentum, 0.99)
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            q, k = model(x0), model.forward_momentum(x1)
            loss = criterion(q, k)  # then k joins the queue
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, q)  # for the loss and collapse monitor
    scheduler.step()
figure = tutorial.plot_history(projection_dim=128)  # monitor: on the queries

# %%
# After training
# --------------
# The same digits' nearest neighbours now; then the map of all 1,000 held-out digits.

figure = tutorial.plot_neighbours(model.backbone, "after training")

# %%

# sphinx_gallery_thumbnail_number = 5
figure = tutorial.plot_map(model.backbone)
results = tutorial.report(model.backbone)  # held-out accuracy against both baselines
