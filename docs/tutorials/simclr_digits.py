"""
.. _tutorial-simclr:

SimCLR on handwritten digits
============================

:doc:`SimCLR </methods/simclr>` trained on 4,000 handwritten digits without labels, on
a CPU in minutes. It follows the :ref:`SimSiam tutorial <tutorial-simsiam>` step for
step; the :doc:`examples </methods/simclr>` follow the paper's recipe for CIFAR-10, and
each change for digits is explained where it is made.
"""

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import SimCLRProjectionHead
from lightly_min.transforms import SimCLRTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18

tutorial = DigitsTutorial("simclr", "SimCLR", epochs=30, batch_size=128)

# %%
# Augmentations for digits
# ------------------------
# SimCLR learns that two views of a digit belong together, and apart from the views of
# every other digit in the batch, so the augmentations decide what its features ignore.
# CIFAR-10's flips, colour jitter and grey-scale are wrong or useless here: a mirrored 2
# is not a digit, grey digits have no hue. Instead: small rotations, jitter of
# brightness and contrast, and crops of at least 40% of the digit, not 20%: a small crop
# is a stroke that several digits share.

transform = SimCLRTransform(
    input_size=32, normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    min_scale=0.4,  # larger crops than CIFAR-10's 0.2
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast (0.8 each) only
    random_gray_scale=0.0, gaussian_blur=0.0,  # already grey; no blur at 32 pixels
)  # fmt: skip
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# The :doc:`example's </methods/simclr>` structure, smaller: a half-width ResNet-18 (256
# features) with torchvision's stem, and the two-layer projection MLP, down to 128. Then
# the baselines and the neighbours before training.


class SimCLR(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = SimCLRProjectionHead(256, 512, 128)

    def forward(self, x):
        return self.projection_head(self.backbone(x))


model = SimCLR().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.backbone)
figure = tutorial.plot_neighbours(model.backbone, "before training")

# %%
# Training
# --------
# As in the example: two views per digit, the NT-Xent loss over the batch, SGD with a
# cosine schedule and a learning rate of 0.06 per 256 images. One change for digits,
# found by trying (see :doc:`/benchmarks`): a temperature of 0.2 instead of the paper's
# CIFAR-10 value of 0.5, which sharpens the contrast between similar digits. The loss
# falls as each digit's two views become the most similar pair in the batch; the
# collapse monitor is healthy near 1/√128 ≈ 0.088.

loader = tutorial.train_loader(transform)
criterion = NTXentLoss(temperature=0.2)
lr = 0.06 * tutorial.batch_size / 256
optimizer = torch.optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=5e-4)
scheduler = LambdaLR(optimizer, tutorial.cosine)

for _epoch in tutorial.training(model.backbone):  # measures each epoch, held out
    model.train()
    for (x0, x1), _ in loader:
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            z0 = model(x0)
            z1 = model(x1)
            loss = criterion(z0, z1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, z0)  # for the loss and collapse monitor
    scheduler.step()
figure = tutorial.plot_history(projection_dim=128)

# %%
# After training
# --------------
# The same digits' nearest neighbours now; then the map of all 1,000 held-out digits.

figure = tutorial.plot_neighbours(model.backbone, "after training")

# %%

# sphinx_gallery_thumbnail_number = 5
figure = tutorial.plot_map(model.backbone)
results = tutorial.report(model.backbone)  # held-out accuracy against both baselines
