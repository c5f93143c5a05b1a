"""
.. _tutorial-vicreg:

VICReg on handwritten digits
============================

:doc:`VICReg </methods/vicreg>` on 4,000 digits without labels, as in the :ref:`SimSiam
tutorial <tutorial-simsiam>`; each change to the examples' CIFAR-10 recipe is explained.
"""

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import VICRegLoss
from lightly_min.models.modules.heads import VICRegProjectionHead
from lightly_min.transforms.vicreg_transform import VICRegTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18

tutorial = DigitsTutorial("vicreg", "VICReg", epochs=30, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# VICReg's two views come from one transform. The changes for digits are the
# :ref:`SimSiam tutorial's <tutorial-simsiam>`: small rotations instead of flips, crops
# of at least 40% of the digit, brightness and contrast only, no blur and no
# solarization (which would erase the strokes).

transform = VICRegTransform(
    input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    min_scale=0.4,  # larger crops than ImageNet's 0.08
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast only
    random_gray_scale=0.0, gaussian_blur=0.0,  # already grey; no blur at 32 pixels
    solarize_prob=0.0,  # it would erase the digit
)  # fmt: skip
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# The :doc:`example's </methods/vicreg>` structure, smaller: a half-width ResNet-18 (256
# features) and an expander of two layers 1,024 wide instead of 2,048.


class VICReg(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = VICRegProjectionHead(256, 1024, 1024, num_layers=2)

    def forward(self, x):
        return self.projection_head(self.backbone(x))


model = VICReg().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: the two views' projections pulled together (invariance), each
# dimension's standard deviation over the batch held above 1 (variance) and the
# dimensions decorrelated (covariance), with the paper's weights 25, 25 and 1. SGD
# with a linear warm-up over 2 epochs, then a cosine schedule, at the SimCLR
# tutorial's 0.06 per 256 images: the first setting we tried (run v1 in
# :doc:`/benchmarks`). The collapse monitor is healthy near 1/√1024 ≈ 0.031.

loader = tutorial.train_loader(transform)
criterion = VICRegLoss()
lr = 0.06 * tutorial.batch_size / 256
optimizer = torch.optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=5e-4)
warmup = 2  # epochs


def warmup_cosine(epoch):
    return min(1.0, (epoch + 1) / warmup) * tutorial.cosine(epoch)


scheduler = LambdaLR(optimizer, warmup_cosine)

for _epoch in tutorial.training(model.backbone):  # measures each epoch, held out
    model.train()
    for (x0, x1), _ in loader:
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            z0, z1 = model(x0), model(x1)
            loss = criterion(z0, z1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, z0)  # for the loss and collapse monitor
    scheduler.step()
figure = tutorial.plot_history(projection_dim=1024)

# %%
# After training
# --------------
# The same digits' nearest neighbours now; then the map of all 1,000 held-out digits.

figure = tutorial.plot_neighbours(model.backbone, "after training")

# %%

# sphinx_gallery_thumbnail_number = 5
figure = tutorial.plot_map(model.backbone)
results = tutorial.report(model.backbone)  # held-out accuracy against both baselines
