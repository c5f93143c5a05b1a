"""Does self-supervised training help? Held-out kNN accuracy on digits, epoch by epoch.

One run trains one method for one seed and measures the backbone's kNN accuracy on the 1,000
held-out digits (bank: the 4,000 training digits, with their labels) before training (the
random-initialisation baseline) and after every epoch. kNN on the raw pixels is the second
baseline. Everything runs on the CPU.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext, redirect_stderr
from typing import Any

import torch
import torch.nn.functional as F
from digits import MNIST_NORMALIZE, DigitDataset, DigitSplit
from methods import Recipe, SiameseModel, build_optimizer, build_transform
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.utils.benchmarking import knn_accuracy, knn_predict
from lightly_min.utils.precision import bf16_supported

#: kNN settings of every evaluation: 20 neighbours (the bank has 400 images per class, so
#: lightly's default of 200 would reach far into other classes), vote temperature 0.1.
KNN_K = 20
KNN_T = 0.1


def pixel_knn_accuracy(split: DigitSplit, knn_k: int = KNN_K, knn_t: float = KNN_T) -> float:
    """kNN accuracy on raw pixels: the 784 grey levels, L2-normalised (cosine similarity)."""

    def features(images: Any) -> torch.Tensor:
        flat = torch.as_tensor(images.reshape(len(images), -1), dtype=torch.float32)
        return F.normalize(flat, dim=1)

    bank, queries = features(split.train_images), features(split.test_images)
    labels = torch.as_tensor(split.train_labels)
    prediction = knn_predict(queries, bank.T, labels, 10, knn_k, knn_t)[:, 0]
    return (prediction == torch.as_tensor(split.test_labels)).float().mean().item()


def knn_loaders(split: DigitSplit, input_size: int) -> tuple[DataLoader, DataLoader]:
    """Bank (training digits) and held-out loaders, resized to ``input_size`` and normalised."""
    plain = T.Compose([T.ToTensor(), T.Normalize(**MNIST_NORMALIZE)])
    bank = DigitDataset(split.train_images, split.train_labels, plain, size=input_size)
    test = DigitDataset(split.test_images, split.test_labels, plain, size=input_size)
    # Their own generators: iterating a DataLoader draws a seed from its generator, and with
    # the global one every evaluation would shift the training augmentations' random stream.
    return tuple(
        DataLoader(data, batch_size=500, generator=torch.Generator().manual_seed(0))
        for data in (bank, test)
    )


def with_data_statistics(backbone: nn.Module, loader: Iterable) -> nn.Module:
    """A copy of ``backbone`` whose BatchNorm layers hold the statistics of ``loader``'s images.

    At initialisation BatchNorm's running statistics are mean 0 and variance 1, so in eval mode
    a fresh network is effectively not normalised at all. After the first training steps the
    running statistics are the data's, which alone changes the features; this copy shows the
    random network in that state, without any training.
    """
    network = copy.deepcopy(backbone)
    for module in network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a plain average over all batches
    network.train()
    with torch.no_grad():
        for images, *_ in loader:
            network(images)
    return network.eval()


def train_and_evaluate(
    recipe: Recipe,
    seed: int,
    split: DigitSplit,
    knn_k: int = KNN_K,
    knn_t: float = KNN_T,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Trains ``recipe`` with ``seed`` and returns its kNN accuracy before and after each epoch.

    Returns a dict with ``seed``, ``random_init_knn`` (the backbone before training),
    ``random_init_data_bn_knn`` (the same with BatchNorm statistics of the training digits,
    see :func:`with_data_statistics`), ``knn_per_epoch`` (after epochs 1..E),
    ``loss_per_epoch``, ``bf16`` (whether bf16 autocast was used), ``train_seconds``
    (training only) and ``wall_seconds`` (with the evaluations).
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = SiameseModel(recipe)
    memory_format = torch.channels_last if recipe.channels_last else torch.preserve_format
    model = model.to(memory_format=memory_format)
    use_bf16 = recipe.bf16 and bf16_supported("cpu")

    def autocast() -> Any:
        if use_bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    bank, test = knn_loaders(split, recipe.input_size)

    def evaluate(backbone: nn.Module) -> float:
        # knn_accuracy draws progress bars; this script logs one line per epoch instead.
        with autocast(), redirect_stderr(io.StringIO()):
            return knn_accuracy(backbone, bank, test, 10, knn_k, knn_t)

    random_init = evaluate(model.backbone)
    with autocast():
        recalibrated = evaluate(with_data_statistics(model.backbone, bank))
    log(
        f"    random init: kNN {random_init:.3f} "
        f"({recalibrated:.3f} with BatchNorm statistics of the data)"
    )
    dataset = DigitDataset(split.train_images, split.train_labels, build_transform(recipe))
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset,
        recipe.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=recipe.num_workers,
        generator=generator,
    )
    optimizer, scheduler = build_optimizer(model, recipe)
    knn_per_epoch, loss_per_epoch, train_seconds = [], [], 0.0
    for epoch in range(recipe.epochs):
        epoch_start = time.perf_counter()
        model.train()
        total = 0.0
        for views, _ in loader:
            with autocast():
                loss = model.loss(views)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        scheduler.step()
        train_seconds += time.perf_counter() - epoch_start
        loss_per_epoch.append(total / len(loader))
        knn_per_epoch.append(evaluate(model.backbone))
        log(
            f"    epoch {epoch + 1}/{recipe.epochs}: loss {loss_per_epoch[-1]:.4f}, "
            f"kNN {knn_per_epoch[-1]:.3f} ({time.perf_counter() - start:.0f} s)"
        )
    return {
        "seed": seed,
        "random_init_knn": random_init,
        "random_init_data_bn_knn": recalibrated,
        "knn_per_epoch": knn_per_epoch,
        "loss_per_epoch": loss_per_epoch,
        "bf16": use_bf16,
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - start,
    }
