"""The course that every digit tutorial follows, written once; the tutorial adds its method.

A tutorial makes a :class:`DigitsTutorial`, which reads its settings, seeds torch and loads the
digits. Then, in this order, the tutorial defines its transform and model and calls:

1. :meth:`~DigitsTutorial.plot_views`: what the transform makes of four training digits;
2. :meth:`~DigitsTutorial.measure_baselines`: raw pixels and the untrained backbone;
3. :meth:`~DigitsTutorial.plot_neighbours` (``"before training"``);
4. ``for epoch in tutorial.training(backbone):`` its own training step over
   :meth:`~DigitsTutorial.train_loader`, calling :meth:`~DigitsTutorial.record` after each
   step; after each epoch the loop measures the held-out kNN (of a momentum teacher too,
   where there is one) and prints a line;
5. :meth:`~DigitsTutorial.plot_history`, :meth:`~DigitsTutorial.plot_neighbours`
   (``"after training"``) and :meth:`~DigitsTutorial.plot_map`;
6. :meth:`~DigitsTutorial.report`: the numbers table, the results JSON and the run data.

Every feature comes from :mod:`lightly_min.evaluation` (eval mode, no gradients, the backbone
left as it was), so the pictures and the numbers see the same features, and no picture changes
the model.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.evaluation import (
    HeldOutAccuracy,
    embed,
    evaluate_backbone,
    label_efficiency,
)
from lightly_min.harness.precision import bf16_supported
from lightly_min.tutorials.digits import MNIST_NORMALIZE, DigitDataset, load_digits
from lightly_min.tutorials.plotting import (
    nearest_neighbours,
    plot_embedding,
    plot_history,
    plot_neighbours,
    plot_views,
)
from lightly_min.tutorials.settings import read_settings
from lightly_min.utils.debug import std_of_l2_normalized

SIZE = 32  # digits are resized from 28 to 32 pixels
NUM_CLASSES = 10
KNN_K, KNN_T = 20, 0.1  # 20 neighbours: each class has 400 training digits, not 5,000
NEIGHBOURS = 5  # per query in the neighbour pictures
EVAL_BATCH = 500
LABELS_PER_CLASS = (1, 5, 10, 50)  # and all: the label-efficiency curve


class DigitsTutorial:
    """One run of a digit tutorial: settings, digits, evaluation, pictures and records.

    Args:
        method: The method's name in the results (``"simsiam"``); the tutorial's file is
            ``tutorials/<method>_digits.py``.
        title: The method's name in print (``"SimSiam"``).
        epochs, batch_size: The full run's; a smoke run (``LIGHTLY_MIN_SMOKE=1``) uses a few
            small batches instead (:mod:`~lightly_min.tutorials.settings`).

    Attributes:
        epochs, batch_size, seed, smoke: The run's settings.
        device: ``"cuda"`` where available, else ``"cpu"``; ``use_bf16``: whether to autocast.
        split: The digits (:class:`~lightly_min.tutorials.digits.DigitSplit`).
        history: ``loss`` and ``z_std`` per epoch, ``knn`` per epoch from epoch 0, and per
            epoch any further monitor that :meth:`record` is given, and ``teacher_knn``
            where :meth:`training` is given a teacher.
        label_efficiency: Held-out accuracy with few labels per class, of the raw pixels, the
            untrained backbone and the trained one (:meth:`_label_efficiency`).
    """

    def __init__(self, method: str, title: str, epochs: int, batch_size: int) -> None:
        self.method, self.title = method, title
        self.settings = read_settings(f"{method}_digits", epochs, batch_size)
        self.epochs, self.batch_size = self.settings.epochs, self.settings.batch_size
        self.seed, self.smoke = self.settings.seed, self.settings.smoke
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.use_bf16 = bf16_supported(self.device)
        torch.manual_seed(self.seed)
        threads = torch.get_num_threads()
        print(f"{self.device} ({'bf16' if self.use_bf16 else 'fp32'}), {threads} threads")
        print(f"seed {self.seed}, {self.epochs} epochs of batch {self.batch_size}")
        self.split = load_digits(*self.settings.per_class)
        train, held_out = len(self.split.train_labels), len(self.split.test_labels)
        print(f"{train} training digits, {held_out} held out")
        plain = T.Compose([T.ToTensor(), T.Normalize(**MNIST_NORMALIZE)])
        bank = DigitDataset(self.split.train_images, self.split.train_labels, plain, SIZE)
        test = DigitDataset(self.split.test_images, self.split.test_labels, plain, SIZE)
        self.bank_loader = DataLoader(bank, batch_size=EVAL_BATCH)
        self.test_loader = DataLoader(test, batch_size=EVAL_BATCH)
        # One held-out digit of each class: the queries of the neighbour pictures.
        self.queries = [list(self.split.test_labels).index(d) for d in range(NUM_CLASSES)]
        self.history: dict[str, list[float]] = {"loss": [], "z_std": [], "knn": []}
        self.knob_values: dict[str, Any] = {}  # what knobs() returned
        self.teacher = None  # a momentum teacher's backbone, given to training()
        self.grids: dict[str, dict[str, list]] = {}
        self.pixels = self.random_init = self.trained = None
        self.label_efficiency: dict[str, Any] = {}  # pixels, random_init, trained
        self.minutes = 0.0
        self._sums: dict[str, float] = {}  # the current epoch's sums, and its "steps"

    def knobs(self, **defaults: Any) -> SimpleNamespace:
        """The tutorial's settings that a tuning sweep changes (``benchmarks/tuning/``):
        ``defaults`` as attributes, except those that ``LIGHTLY_MIN_KNOBS`` sets. A knob
        that the tutorial does not declare, or of another type, raises ``ValueError``."""
        changes = self.settings.knobs
        unknown = sorted(set(changes) - set(defaults))
        if unknown:
            raise ValueError(
                f"LIGHTLY_MIN_KNOBS sets {', '.join(unknown)}, which the {self.method} "
                f"tutorial does not have: its knobs are {', '.join(sorted(defaults))}."
            )
        for name, value in changes.items():
            default = defaults[name]
            same = isinstance(value, type(default)) or (
                isinstance(default, float) and isinstance(value, int)
            )
            if not same or isinstance(value, bool) != isinstance(default, bool):
                raise ValueError(
                    f"LIGHTLY_MIN_KNOBS sets {name} to {value!r}: the {self.method} tutorial's "
                    f"{name} is a {type(default).__name__} ({default!r})."
                )
        self.knob_values = {**defaults, **changes}
        if changes:
            print("knobs changed:", ", ".join(f"{k} = {v!r}" for k, v in changes.items()))
        return SimpleNamespace(**self.knob_values)

    # The data ----------------------------------------------------------------------------

    def train_loader(self, transform: Any) -> _OnDevice:
        """The training digits (28 -> 32 pixels, RGB), shuffled, the last partial batch
        dropped, on the run's device: each batch is ``(views, labels)``, ``views`` a list of
        ``(B, 3, 32, 32)`` tensors, one per view. Training never uses the labels."""
        images, labels = self.split.train_images, self.split.train_labels
        dataset = DigitDataset(images, labels, transform, SIZE)
        loader = DataLoader(dataset, self.batch_size, shuffle=True, drop_last=True)
        return _OnDevice(loader, self.device)

    def plot_views(self, transform: Any) -> Any:
        """Four training digits (rows), each next to the views ``transform`` makes of it."""
        images = DigitDataset(self.split.train_images[:4], self.split.train_labels[:4], None, SIZE)
        title = f"{self.title}'s views of four training digits"
        return plot_views(images.images, transform, MNIST_NORMALIZE, title=title)

    # Evaluation --------------------------------------------------------------------------

    def evaluate(self, backbone: nn.Module, linear_probe: bool = True) -> HeldOutAccuracy:
        """Held-out kNN (k = 20, t = 0.1) and linear probe of ``backbone``'s features."""
        return evaluate_backbone(
            backbone, self.bank_loader, self.test_loader, NUM_CLASSES, KNN_K, KNN_T,
            linear_probe=linear_probe, device=self.device, progress=False,
        )  # fmt: skip

    def _features(self, backbone: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``backbone``'s features of the training digits and of the held-out ones."""
        bank, _ = embed(backbone, self.bank_loader, self.device, progress=False)
        test, _ = embed(backbone, self.test_loader, self.device, progress=False)
        return bank, test

    def _label_efficiency(self, train: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
        """kNN and linear probe on the held-out digits with 1, 5, 10, 50 (those the split
        has) and all labelled training digits per class, the labelled ones drawn with the
        run's seed (:func:`~lightly_min.evaluation.few_labels.label_efficiency`)."""
        train_labels = torch.tensor(self.split.train_labels)
        fewest = int(torch.bincount(train_labels).min())
        counts = [n for n in LABELS_PER_CLASS if n < fewest] + [None]
        return label_efficiency(
            train.cpu(), train_labels, test.cpu(), torch.tensor(self.split.test_labels),
            counts, NUM_CLASSES, KNN_K, KNN_T, seed=self.seed,
        )  # fmt: skip

    def _measure(
        self, train: torch.Tensor, test: torch.Tensor
    ) -> tuple[HeldOutAccuracy, dict[str, Any]]:
        """Held-out accuracy with every label, and with few (:meth:`_label_efficiency`): the
        former is the latter's ``"all"``, computed once."""
        curve = self._label_efficiency(train, test)
        return HeldOutAccuracy(**curve["all"]), curve

    def measure_baselines(self, backbone: nn.Module) -> None:
        """The raw pixels' accuracy and the untrained ``backbone``'s, measured and printed;
        the untrained kNN is epoch 0 of the history."""
        train_pixels, test_pixels = (
            torch.tensor(images.reshape(len(images), -1) / 255.0).float()  # 784 grey levels
            for images in (self.split.train_images, self.split.test_images)
        )
        self.pixels, pixels = self._measure(train_pixels, test_pixels)
        self.random_init, random_init = self._measure(*self._features(backbone))
        self.label_efficiency = {"pixels": pixels, "random_init": random_init}
        self.history["knn"] = [self.random_init.knn]
        print(f"raw pixels:  kNN {self.pixels.knn:.3f}, linear {self.pixels.linear_probe:.3f}")
        init = self.random_init
        print(f"random init: kNN {init.knn:.3f}, linear {init.linear_probe:.3f}")

    # Training ----------------------------------------------------------------------------

    def training(self, backbone: nn.Module, teacher: nn.Module | None = None) -> Iterator[int]:
        """Yields 0, 1, ..., ``epochs - 1``: the tutorial trains one epoch per value. After each,
        the mean loss and monitors of its steps (from :meth:`record`) and the held-out kNN of
        ``backbone`` (and of ``teacher``, a momentum teacher's backbone, if given) join the
        history, and a line is printed; at the end, the minutes of training and evaluation.

        Under a tuning sweep (``LIGHTLY_MIN_PROGRESS``), each epoch also measures the linear
        probe and appends the epoch's numbers to that file as one JSON line."""
        self.teacher = teacher
        if teacher is not None:
            self.history["teacher_knn"] = [self.history["knn"][0]]  # the same init
        progress = self.settings.progress
        start = time.perf_counter()
        for epoch in range(self.epochs):
            self._sums = {"steps": 0}
            yield epoch
            steps = self._sums.pop("steps")
            if steps == 0:
                raise RuntimeError("No training step was recorded: call tutorial.record().")
            averages = {name: total / steps for name, total in self._sums.items()}
            for name, value in averages.items():
                self.history.setdefault(name, []).append(value)
            line = {"epoch": epoch + 1, **averages}
            for who, network in (("", backbone), ("teacher_", teacher)):
                if network is None:
                    continue
                measured = self.evaluate(network, linear_probe=progress is not None)
                self.history[f"{who}knn"].append(measured.knn)
                line |= {f"{who}knn": measured.knn, f"{who}linear_probe": measured.linear_probe}
            shown = "  ".join(f"{name.replace('_', '-')} {v:.4f}" for name, v in averages.items())
            also = f", teacher {line['teacher_knn']:.3f}" if teacher is not None else ""
            print(f"epoch {epoch + 1}/{self.epochs}  {shown}  held-out kNN {line['knn']:.3f}{also}")
            if progress is not None:
                line["seconds"] = time.perf_counter() - start
                with progress.open("a") as stream:
                    stream.write(json.dumps(line, default=_plain) + "\n")
        self.minutes = (time.perf_counter() - start) / 60
        print(f"{self.minutes:.1f} minutes of training and evaluation")

    def record(self, loss: torch.Tensor, projections: torch.Tensor, **monitors: Any) -> None:
        """One training step's loss and its collapse monitor: the standard deviation of the
        L2-normalised ``projections`` ``(B, D)``, about ``1 / sqrt(D)`` when healthy; and any
        further ``monitors`` (numbers or 0-d tensors, e.g. ``teacher_entropy=...``), each
        averaged over the epoch's steps into the history under its name."""
        values = {"loss": loss, "z_std": std_of_l2_normalized(projections.detach()), **monitors}
        for name, value in values.items():
            value = value.item() if isinstance(value, torch.Tensor) else float(value)
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._sums["steps"] += 1

    def cosine(self, epoch: int) -> float:
        """The factor ``0.5 * (1 + cos(pi * epoch / epochs))`` of a learning rate that falls
        from its start to 0 over the run, for ``torch.optim.lr_scheduler.LambdaLR``."""
        return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

    # Pictures ----------------------------------------------------------------------------

    def plot_history(
        self,
        projection_dim: int | None = None,
        monitor: str = "z_std",
        references: dict[str, float] | None = None,
    ) -> Any:
        """Loss, held-out kNN (with both baselines, and the teacher's where :meth:`training`
        had one) and a collapse monitor per epoch: by default ``z_std``, whose healthy value
        is ``1 / sqrt(projection_dim)``; or another that :meth:`record` was given, drawn with
        its ``references`` (e.g. its values at collapse)."""
        baselines = {"raw pixels": self.pixels.knn, "random init": self.random_init.knn}
        healthy = 1 / math.sqrt(projection_dim) if monitor == "z_std" and projection_dim else None
        return plot_history(
            self.history, baselines, healthy_std=healthy,
            title=f"{self.title} on the digits, per epoch", monitor=monitor,
            references=references,
        )  # fmt: skip

    def plot_neighbours(self, backbone: nn.Module, title: str) -> Any:
        """One held-out digit per class and its 5 nearest training digits by cosine similarity
        of ``backbone``'s features; the labels in the picture are kept under ``title`` for the
        run data."""
        bank, _ = embed(backbone, self.bank_loader, self.device, progress=False)
        test, _ = embed(backbone, self.test_loader, self.device, progress=False)
        found = nearest_neighbours(test[self.queries], bank, NEIGHBOURS).cpu().numpy()
        self.grids[title] = {
            "query_index": list(self.queries),
            "query_labels": self.split.test_labels[self.queries].tolist(),
            "neighbour_index": found.tolist(),
            "neighbour_labels": self.split.train_labels[found].tolist(),
        }
        grid = self.grids[title]
        same = sum(
            label == query
            for query, row in zip(grid["query_labels"], grid["neighbour_labels"])
            for label in row
        )
        caption = (
            f"{self.title}, {title}: each held-out digit's {NEIGHBOURS} nearest training "
            f"digits\n{same} of {len(self.queries) * NEIGHBOURS} of the query's class "
            "(red frame: another class)"
        )
        return plot_neighbours(
            self.split.test_images[self.queries], test[self.queries],
            self.split.test_labels[self.queries], self.split.train_images, bank,
            self.split.train_labels, k=NEIGHBOURS, title=caption,
        )  # fmt: skip

    def plot_map(self, backbone: nn.Module) -> Any:
        """t-SNE of ``backbone``'s features of the held-out digits, coloured by label."""
        test, _ = embed(backbone, self.test_loader, self.device, progress=False)
        labels = self.split.test_labels
        title = f"{self.title}, after training: t-SNE of the {len(labels):,} held-out digits"
        return plot_embedding(test, labels, "tsne", seed=self.seed, title=title)

    # The numbers -------------------------------------------------------------------------

    def report(self, backbone: nn.Module) -> dict[str, Any]:
        """Evaluates the trained ``backbone``, prints the table of held-out accuracy against
        both baselines, and returns the run's results; writes them to ``LIGHTLY_MIN_RESULTS``
        and, under ``nox -s tutorials``, to ``docs/tutorials/<method>_digits.run_data.json``."""
        self.trained, self.label_efficiency["trained"] = self._measure(*self._features(backbone))
        rows = [
            (f"{self.title}, trained", self.trained),
            ("same network, random init", self.random_init),
            ("raw pixels", self.pixels),
        ]
        print(f"{'held-out accuracy':28} {'kNN':>6} {'linear':>7}")
        for name, accuracy in rows:
            print(f"{name:28} {accuracy.knn:6.3f} {accuracy.linear_probe:7.3f}")
        if self.teacher is not None:
            teacher = self.evaluate(self.teacher)
            print(
                f"{self.title + ', its teacher':28} {teacher.knn:6.3f} {teacher.linear_probe:7.3f}"
            )
        results = {
            "method": self.method, "seed": self.seed, "epochs": self.epochs,
            "knobs": self.knob_values, "minutes": self.minutes, "trained": self.trained._asdict(),
            "random_init": self.random_init._asdict(), "pixels": self.pixels._asdict(),
            "label_efficiency": self.label_efficiency,
            "history": self.history, "neighbours": self.grids,
        }  # fmt: skip
        if self.teacher is not None:
            results["teacher"] = teacher._asdict()
        for path in (self.settings.results, self.settings.run_data):
            if path is not None:
                path.write_text(json.dumps(results, indent=1, default=_plain) + "\n")
        return results


class _OnDevice:
    """A DataLoader whose batches of views ``(views, labels)`` arrive on ``device``."""

    def __init__(self, loader: DataLoader, device: str) -> None:
        self.loader, self.device = loader, device

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[list[torch.Tensor], torch.Tensor]]:
        for views, labels in self.loader:
            yield [view.to(self.device) for view in views], labels


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, for json."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
