"""
.. _tutorial-fastsiam:

FastSiam on handwritten digits
==============================

:doc:`FastSiam </methods/fastsiam>` is SimSiam with four views per digit, each view's
prediction matched to the mean projection of the other three. Trained here on 4,000
handwritten digits without labels, on a CPU in minutes, it follows the :ref:`SimSiam
tutorial <tutorial-simsiam>` step for step, with the same changes to the CIFAR-10
recipe of the :doc:`examples </methods/fastsiam>`.
"""

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import ProjectionHead, SimSiamPredictionHead
from lightly_min.transforms import FastSiamTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18

# 30 epochs, half of SimSiam's: each costs twice as much.
tutorial = DigitsTutorial("fastsiam", "FastSiam", epochs=30, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# As for SimSiam: no flips (a mirrored 2 is not a digit), no hue, saturation or
# grey-scale (the digits are grey), no blur at 32 pixels; small rotations, jitter of
# brightness and contrast, and crops of at least 40% of the digit instead of 20%, since
# a small crop is a stroke that several digits share.

transform = FastSiamTransform(
    num_views=4, input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    min_scale=0.4,  # larger crops than CIFAR-10's 0.2
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast only
    random_gray_scale=0.0, gaussian_blur=0.0,  # already grey; no blur at 32 pixels
)  # fmt: skip
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# SimSiam's model, as in the :doc:`example </methods/fastsiam>`, smaller: a half-width
# ResNet-18 (256 features), a two-layer projection MLP of width 1024, the bottleneck
# predictor. Then the baselines and the neighbours before training.


class FastSiam(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = ProjectionHead([
            (256, 1024, nn.BatchNorm1d(1024), nn.ReLU(inplace=True)),
            (1024, 1024, nn.BatchNorm1d(1024, affine=False), None),
        ])  # fmt: skip
        self.prediction_head = SimSiamPredictionHead(1024, 256, 1024)

    def forward(self, x):
        z = self.projection_head(self.backbone(x))
        p = self.prediction_head(z)
        return z.detach(), p  # stop-gradient on the projection: what prevents collapse


model = FastSiam().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: four views per digit, each view's prediction against the mean
# projection of the other three, SGD with a cosine schedule. The same two changes for
# digits as for SimSiam: a learning rate of 0.12 per 256 images, and a predictor that
# learns ten times faster and keeps its learning rate. The collapse monitor is healthy
# near 1/√1024 ≈ 0.031.

loader = tutorial.train_loader(transform)
criterion = NegativeCosineSimilarity()
lr = 0.12 * tutorial.batch_size / 256
optimizer = torch.optim.SGD([
    {"params": [*model.backbone.parameters(), *model.projection_head.parameters()]},
    {"params": model.prediction_head.parameters(), "lr": 10 * lr},
], lr=lr, momentum=0.9, weight_decay=5e-4)  # fmt: skip
scheduler = LambdaLR(optimizer, [tutorial.cosine, lambda epoch: 1.0])  # predictor's: 1

for _epoch in tutorial.training(model.backbone):  # measures each epoch, held out
    model.train()
    for views, _ in loader:
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            zs, ps = zip(*[model(view) for view in views])
            loss = 0.0  # each view's prediction against the others' mean projection
            for z, p in zip(zs, ps):
                loss += criterion(p, (sum(zs) - z) / (len(zs) - 1)) / len(zs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, zs[0])  # for the loss and collapse monitor
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
