"""The images an example trains on, and the labelled images that evaluate it.

The example scripts train on one of three sources, and evaluate the backbone when labels exist:

========================  ==============================  ==================================
source                    trains on                       evaluates (bank / held out)
========================  ==============================  ==================================
CIFAR-10 (the default)    the 50,000 training images      training images / the 10,000 test
``data_dir``, labelled    all but 10% of each class       the training images / that 10%
``data_dir`` + test_dir   every image of ``data_dir``     ``data_dir`` / ``test_dir``
``data_dir``, unlabelled  every image                     nothing (no labels)
``fake_data=N``           N noise images                  N noise images / N others
========================  ==============================  ==================================

A folder is labelled when every image lies in a class subfolder (``data_dir/<class>/...``) and
there are at least two classes (:attr:`~lightly_min.data.dataset.LightlyDataset.is_labelled`).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset
from torchvision.datasets import CIFAR10, FakeData

from lightly_min.data.dataset import LightlyDataset
from lightly_min.errors import InputError

#: The fraction of each class that a labelled ``data_dir`` holds out when no test folder is named.
HOLDOUT_FRACTION = 0.1


@dataclass
class TrainingData:
    """What an example trains on and, if there are labels, evaluates with.

    Attributes:
        train: The training images, each through the multi-view ``transform``.
        bank: Labelled training images (``eval_transform``): the kNN bank and the linear
            probe's training set. ``None`` without labels.
        test: Labelled held-out images (``eval_transform``), classified by both. ``None``
            without labels.
        description: One line saying what the data are, and whether and how they evaluate.
        no_evaluation: Why there is no evaluation, and what to change; ``None`` with labels.
    """

    train: Dataset
    bank: Dataset | None
    test: Dataset | None
    description: str
    no_evaluation: str | None = None


def load_training_data(
    transform: Callable[[Any], Any],
    eval_transform: Callable[[Any], Any],
    data_dir: str | Path | None = None,
    test_dir: str | Path | None = None,
    fake_data: int = 0,
    download_dir: str | Path = "datasets",
    image_size: int = 32,
    seed: int = 0,
) -> TrainingData:
    """The examples' data: a folder of images, noise images, or CIFAR-10 (see the module).

    Args:
        transform: The method's multi-view transform, for training.
        eval_transform: A single-view transform for evaluation; it must give every image the
            same size (e.g. Resize, CenterCrop, ToTensor, Normalize).
        data_dir: A folder of images to train on; labelled by class subfolders, or not.
        test_dir: A labelled folder of held-out images, with the class subfolders of
            ``data_dir``. Without it, a labelled ``data_dir`` holds out
            :data:`HOLDOUT_FRACTION` of each class.
        fake_data: When > 0 (and no ``data_dir``), that many noise images (torchvision's
            ``FakeData``) of ``image_size`` pixels: runs every line of a script, learns nothing.
        download_dir: Where CIFAR-10 is, or is downloaded to.
        seed: Chooses the held-out images of a labelled ``data_dir``.

    Raises:
        InputError: A folder is missing or holds no images; ``test_dir`` is given without
            ``data_dir``, or its classes differ; CIFAR-10 cannot be downloaded.
    """
    if test_dir is not None and data_dir is None:
        raise InputError("--test-dir needs --data-dir: the images to train on and to compare with.")
    if data_dir is not None:
        return _folder(transform, eval_transform, data_dir, test_dir, seed)
    if fake_data > 0:
        size = (3, image_size, image_size)
        return TrainingData(
            train=FakeData(fake_data, size, 10, transform),
            bank=FakeData(fake_data, size, 10, eval_transform),
            test=FakeData(fake_data, size, 10, eval_transform, random_offset=fake_data),
            description=f"{fake_data} noise images (a smoke run: nothing to learn)",
        )
    try:
        train = CIFAR10(str(download_dir), download=True, transform=transform)
    except OSError as error:  # offline, and no copy in download_dir
        raise InputError(
            f"Cannot download CIFAR-10 into {download_dir}/ ({error}). Use --data-dir PATH "
            "for your own images, or --fake-data N for a smoke run."
        ) from None
    return TrainingData(
        train=train,
        bank=CIFAR10(str(download_dir), train=True, transform=eval_transform),
        test=CIFAR10(str(download_dir), train=False, transform=eval_transform),
        description="CIFAR-10: 50000 training images; evaluation on its 10000 test images",
    )


def _classes(dataset: LightlyDataset) -> str:
    """``"3 classes (cats, dogs, owls)"``, naming at most ten."""
    names = ", ".join(dataset.classes[:10]) + (", ..." if len(dataset.classes) > 10 else "")
    return f"{len(dataset.classes)} classes ({names})"


def _why_unlabelled(dataset: LightlyDataset, name: str) -> str:
    """Why a folder does not count as labelled, and what to change."""
    if dataset.classes and dataset.loose_files:
        return (
            f"{name} holds images outside its class subfolders ({len(dataset.loose_files)}, "
            f"e.g. {dataset.loose_files[0]}); move them into a class subfolder, or out"
        )
    if len(dataset.classes) == 1:
        return (
            f"{name} has one class subfolder ({dataset.classes[0]}); evaluating needs two "
            "classes or more"
        )
    return f"{name} has no class subfolders; put each class in a subfolder: DIR/<class>/<image>"


def _with_transform(dataset: LightlyDataset, transform: Callable[[Any], Any]) -> LightlyDataset:
    """The same files (read and checked once) through another transform."""
    other = copy.copy(dataset)
    other.transform = transform
    return other


def _folder(
    transform: Callable[[Any], Any],
    eval_transform: Callable[[Any], Any],
    data_dir: str | Path,
    test_dir: str | Path | None,
    seed: int,
) -> TrainingData:
    train = LightlyDataset(data_dir, transform)
    bank = _with_transform(train, eval_transform)
    if test_dir is not None:
        test = LightlyDataset(test_dir, eval_transform)
        for dataset, name in ((bank, data_dir), (test, test_dir)):
            if not dataset.is_labelled:
                raise InputError(
                    f"--test-dir evaluates with labels, but {_why_unlabelled(dataset, name)}."
                )
        if test.classes != bank.classes:
            raise InputError(
                f"The class subfolders of {test_dir} ({', '.join(test.classes)}) differ from "
                f"those of {data_dir} ({', '.join(bank.classes)}). Use the same class names."
            )
        if Path(test_dir).resolve() == Path(data_dir).resolve():
            print(
                f"warning: --test-dir is the training folder {data_dir}: the evaluation measures "
                "the images the network trained on, not held-out ones.",
                file=sys.stderr,
            )
        return TrainingData(
            train=train,
            bank=bank,
            test=test,
            description=(
                f"{data_dir}: {len(train)} images, {_classes(bank)}; evaluation on the "
                f"{len(test)} images of {test_dir}"
            ),
        )
    if not bank.is_labelled:
        why = _why_unlabelled(bank, "the folder")
        return TrainingData(
            train=train,
            bank=None,
            test=None,
            description=f"{data_dir}: {len(train)} images, unlabelled; no evaluation ({why})",
            no_evaluation=why,
        )
    train_index, test_index = _stratified_split(bank.targets, HOLDOUT_FRACTION, seed)
    if not test_index:
        raise InputError(
            f"{data_dir} has too few images per class to hold any out for evaluation (a class "
            "needs 2 or more). Add images, or name a held-out folder with --test-dir."
        )
    return TrainingData(
        train=Subset(train, train_index),
        bank=Subset(bank, train_index),
        test=Subset(bank, test_index),
        description=(
            f"{data_dir}: {len(train_index)} images for training, {_classes(bank)}; "
            f"{len(test_index)} held out for evaluation ({HOLDOUT_FRACTION:.0%} of each class; "
            "--test-dir names a held-out folder instead)"
        ),
    )


def _stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list, list]:
    """Sorted indices ``(kept, held_out)``: ``round(fraction * n)`` of each class's ``n``
    images are held out (at least 1 where a class has 2 or more), chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    held_out = []
    for label in np.unique(labels_array):
        members = np.flatnonzero(labels_array == label)
        count = max(1, round(fraction * len(members))) if len(members) >= 2 else 0
        held_out.extend(rng.choice(members, size=count, replace=False).tolist())
    held = set(held_out)
    kept = [i for i in range(len(labels)) if i not in held]
    return kept, sorted(held_out)
