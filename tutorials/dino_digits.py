"""
.. _tutorial-dino:

DINO on handwritten digits
==========================

:doc:`DINO </methods/dino>` on 4,000 digits without labels, as in the :ref:`SimSiam
tutorial <tutorial-simsiam>`: a student network learns to give each view the
distribution over prototypes that a momentum teacher gives another view of the same
digit. Where it stands on the digits is on the :doc:`method's page </methods/dino>`;
each change to the examples' CIFAR-10 recipe is explained.
"""

import copy
import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.loss import DINOLoss
from lightly_min.models.modules import DINOProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.monitors import prototypes_in_use, teacher_entropy
from lightly_min.transforms.dino_transform import DINOTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial, narrow_resnet18
from lightly_min.utils.lars import LARS
from lightly_min.utils.scheduler import cosine_schedule

tutorial = DigitsTutorial("dino", "DINO", epochs=60, batch_size=128)

# %%
# The knobs
# ---------
# The settings that the tuning sweep (``python -m benchmarks.tune dino``, declared in
# ``benchmarks/tuning/dino.toml``) changes, one or two at a time; every run it made
# is in :doc:`/benchmarks`. The two that mattered most are BatchNorm in the head and a
# teacher temperature of 0.02, the DINO author's advice for a loss that does not fall
# (facebookresearch/dino#43). Without BatchNorm, at either temperature, the teacher's
# output became the same for every digit, its entropy stuck at ln K (runs base and
# t02); BatchNorm alone kept it apart but did not learn (run bn). With both, the
# held-out kNN was still rising after 30 epochs (run bn-t02): the tutorial trains 60
# (run bn-t02-e60).

knobs = tutorial.knobs(
    output_dim=1024,  # K, the prototypes (the paper: 65,536)
    hidden_dim=512, bottleneck_dim=64,  # the head, as in lightly's examples
    batch_norm=True,  # in the head (the paper: none; lightly's CIFAR-10 benchmark: yes)
    teacher_temp=0.02, warmup_teacher_temp=0.02, warmup_teacher_temp_epochs=0,
    student_temp=0.1, center_momentum=0.9,  # the paper's
    teacher_momentum=0.99,  # rises to 1 along a cosine, per step
    optimizer="sgd", lr=0.12, weight_decay=5e-4,  # lr per 256 images
    min_scale=0.4, local_views=0, local_size=24,
    freeze_last_layer=1,  # epochs
)  # fmt: skip

# %%
# Augmentations for digits
# ------------------------
# DINO's global views (two, for the teacher and the student) and local views (smaller
# crops, for the student only). The changes for digits are the :ref:`SimSiam tutorial's
# <tutorial-simsiam>`: small rotations instead of flips, brightness and contrast only,
# no blur and no solarisation.

transform = DINOTransform(
    global_crop_size=32, global_crop_scale=(knobs.min_scale, 1.0),
    local_crop_size=knobs.local_size, local_crop_scale=(0.1, knobs.min_scale),
    n_local_views=knobs.local_views,
    normalize=MNIST_NORMALIZE,  # MNIST's mean and std
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5, rr_degrees=20,  # rotate half of the views by up to 20 degrees
    cj_sat=0.0, cj_hue=0.0,  # colour jitter: brightness and contrast only
    random_gray_scale=0.0, gaussian_blur=(0.0, 0.0, 0.0), solarization_prob=0.0,
)  # fmt: skip
figure = tutorial.plot_views(transform)

# %%
# The model
# ---------
# The :doc:`example's </methods/dino>` structure, smaller: a half-width ResNet-18 (256
# features) and DINO's head, whose last layer holds the ``K`` prototypes. The teacher
# starts as a copy of the student and then follows it by momentum; gradients never
# train it.


class DINO(nn.Module):
    def __init__(self):
        super().__init__()
        self.student_backbone = narrow_resnet18(width=32)
        self.student_head = DINOProjectionHead(
            256, knobs.hidden_dim, knobs.bottleneck_dim, knobs.output_dim,
            batch_norm=knobs.batch_norm, freeze_last_layer=knobs.freeze_last_layer,
        )  # fmt: skip
        self.teacher_backbone = copy.deepcopy(self.student_backbone)
        self.teacher_head = copy.deepcopy(self.student_head)
        deactivate_requires_grad(self.teacher_backbone)
        deactivate_requires_grad(self.teacher_head)

    def forward(self, x):  # the student
        return self.student_head(self.student_backbone(x))

    def forward_teacher(self, x):  # constants
        return self.teacher_head(self.teacher_backbone(x)).detach()


model = DINO().to(tutorial.device, memory_format=torch.channels_last)
tutorial.measure_baselines(model.student_backbone)
figure = tutorial.plot_neighbours(model.student_backbone, "before training")

# %%
# Training
# --------
# As in the example: before each step the teacher moves towards the student, its
# momentum rising from ``teacher_momentum`` to 1 along a cosine. The teacher sees the
# two global views, the student every view; the loss is the cross-entropy between the
# teacher's centred, sharpened distribution of one view and the student's of
# another. Same-sized views go through the network together, so that BatchNorm sees
# them as one batch. For the first epoch the prototypes stay as they started (the
# paper's help for a stable start). The collapse monitors are the teacher's entropy
# (0: every digit on one prototype; ln K: uniform) and the number of prototypes that
# are some digit's most probable one.

loader = tutorial.train_loader(transform)
criterion = DINOLoss(
    knobs.output_dim, knobs.warmup_teacher_temp, knobs.teacher_temp,
    knobs.warmup_teacher_temp_epochs, knobs.student_temp, knobs.center_momentum,
)  # fmt: skip
criterion.to(tutorial.device)  # the center, on the model's device
lr = knobs.lr * tutorial.batch_size / 256
if knobs.optimizer == "lars":  # solo-learn's CIFAR settings (trust coefficient 0.02)
    optimizer = LARS(
        model.parameters(), lr, momentum=0.9, weight_decay=knobs.weight_decay,
        trust_coefficient=0.02,
    )  # fmt: skip
else:
    optimizer = torch.optim.SGD(
        model.parameters(), lr, momentum=0.9, weight_decay=knobs.weight_decay
    )
scheduler = LambdaLR(optimizer, tutorial.cosine)
steps = tutorial.epochs * len(loader)

for epoch in tutorial.training(model.student_backbone, teacher=model.teacher_backbone):
    model.train()
    for step, (views, _) in enumerate(loader, start=epoch * len(loader)):
        momentum = cosine_schedule(step, steps, knobs.teacher_momentum, 1.0)
        update_momentum(model.student_backbone, model.teacher_backbone, momentum)
        update_momentum(model.student_head, model.teacher_head, momentum)
        with torch.autocast(tutorial.device, torch.bfloat16, enabled=tutorial.use_bf16):
            global_views = torch.cat(views[:2])
            teacher_out = model.forward_teacher(global_views).chunk(2)
            student_out = list(model(global_views).chunk(2))
            if len(views) > 2:
                student_out += model(torch.cat(views[2:])).chunk(len(views) - 2)
            monitors = dict(
                teacher_entropy=teacher_entropy(
                    teacher_out[0], criterion.center, criterion.temperature(epoch=epoch)
                ),
                prototypes_in_use=prototypes_in_use(teacher_out[0], criterion.center),
            )  # before the loss moves the center
            loss = criterion(list(teacher_out), student_out, epoch=epoch)
        optimizer.zero_grad()
        loss.backward()
        model.student_head.cancel_last_layer_gradients(epoch)
        optimizer.step()
        tutorial.record(loss, teacher_out[0], **monitors)
    scheduler.step()
collapsed = {"one prototype": 0.0, "uniform (ln K)": math.log(knobs.output_dim)}
figure = tutorial.plot_history(monitor="teacher_entropy", references=collapsed)

# %%
# After training
# --------------
# The same digits' nearest neighbours now; then the map of all 1,000 held-out digits.

figure = tutorial.plot_neighbours(model.student_backbone, "after training")

# %%

# sphinx_gallery_thumbnail_number = 5
figure = tutorial.plot_map(model.student_backbone)
results = tutorial.report(model.student_backbone)  # and the teacher's
