"""
.. _tutorial-simsiam:

SimSiam on handwritten digits
=============================

:doc:`SimSiam </methods/simsiam>` trained on 4,000 handwritten digits without labels,
on a CPU in minutes. The :doc:`examples </methods/simsiam>` follow the paper's recipe
for CIFAR-10, colour photographs in which a mirrored car is still a car; digits are
grey, small and asymmetric, and each change is explained where it is made. What all
tutorials share is described in the :ref:`overview <tutorials-course>`.
"""

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import ProjectionHead, SimSiamPredictionHead
from lightly_min.transforms import SimSiamTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18

tutorial = DigitsTutorial("simsiam", "SimSiam", epochs=60, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# SimSiam learns to match two views of a digit, so the augmentations decide what its
# features ignore. CIFAR-10's flips, colour jitter and grey-scale are wrong or useless
# here: a mirrored 2 is not a digit, grey digits have no hue. Instead: small rotations,
# jitter of brightness and contrast, and crops of at least 40% of the digit, not 20%: a
# small crop is a stroke that several digits share.

transform = SimSiamTransform(
    input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
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
# The :doc:`example's </methods/simsiam>` structure, smaller: a ResNet-18 at half the
# width (256 features) with torchvision's stem, cheap on 32-pixel images; a two-layer
# projection MLP of width 1024; the bottleneck predictor, down to 256 and back. Before
# training: the baselines, and the training digits nearest to one held-out digit per
# class (red: another class) by the random network's features.


class SimSiam(nn.Module):
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


model = SimSiam().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: two views per digit, the symmetric negative cosine similarity,
# SGD with a cosine schedule. Two changes for digits, found by trying (see
# :doc:`/benchmarks`): a learning rate of 0.12 per 256 images, and a predictor that
# learns ten times faster than the encoder and keeps its learning rate; without them
# the held-out accuracy fell. The collapse monitor is healthy near 1/√1024 ≈ 0.031.

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
    for (x0, x1), _ in loader:
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            z0, p0 = model(x0)
            z1, p1 = model(x1)
            loss = 0.5 * (criterion(p0, z1) + criterion(p1, z0))
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
