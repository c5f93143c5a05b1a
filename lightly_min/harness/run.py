"""One example's run: everything around the method that every example needs, written once.

The example builds its model, optimiser and loss, and writes its own training loop; a
:class:`Run` gives that loop its data, device, precision, progress bar and checkpoints, and
writes the run record ``OUTPUT_DIR/metrics.jsonl`` (:class:`~.output.RunRecord`)::

    run = Run(args, "SimSiam", transform, healthy={"z_std": 1 / math.sqrt(2048)})
    start = run.resume(model=model, optimizer=optimizer, scheduler=scheduler)
    for epoch in range(start, args.epochs):
        for (x0, x1), *_ in run.epoch(loader, epoch, optimizer):
            ...  # the method's step
            run.log(loss, z_std=std_of_l2_normalized(z0))
        scheduler.step()
        run.end_epoch(model=model, optimizer=optimizer, scheduler=scheduler)
    run.finish(backbone)  # saves the weights, then evaluates them on held-out images

The Lightning examples use the same object through :mod:`lightly_min.harness.lightning`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.data.dataset import skip_unreadable
from lightly_min.errors import InputError
from lightly_min.evaluation import evaluate_backbone
from lightly_min.harness.data import TrainingData, load_training_data
from lightly_min.harness.output import (
    RunRecord,
    atomic_write,
    check_output_dir,
    load_checkpoint,
    save_checkpoint,
)
from lightly_min.harness.precision import bf16_supported
from lightly_min.harness.stopping import RunStopped, end_on_signals, report_stops
from lightly_min.progress import progress_bar
from lightly_min.transforms.utils import IMAGENET_NORMALIZE


def launch_rank() -> int:
    """This process's global rank as the launcher set it (Lightning, torchrun, SLURM), before
    torch.distributed starts: 0 for a run of one process."""
    for variable in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if variable in os.environ:
            return int(os.environ[variable])
    return 0


def fail(message: str) -> None:
    """Ends the program with one ``error: ...`` line and exit status 1."""
    sys.exit(f"error: {message}")


class Run:
    """Data, output folder, checkpoints and run record of one example's run.

    Args:
        args: From :func:`~lightly_min.harness.cli.parse_args`.
        method: The method's name, e.g. ``"SimSiam"``; the weights are saved as
            ``<method>_backbone.pt`` (lower case) in ``args.output_dir``.
        transform: The method's multi-view transform, for training.
        healthy: The collapse monitors the loop logs, each with its value for a healthy run
            (``None`` where a healthy run has no one value: it is printed alone).
        input_size: The images' size for evaluation (resized, then centre-cropped) and of
            ``--fake-data``; by default ``--input-size``, the size the transform crops to.
        lightning: Whether Lightning writes the checkpoint (``checkpoint.ckpt``) rather than
            :meth:`end_epoch` (``checkpoint.pt``).
    """

    def __init__(
        self,
        args: argparse.Namespace,
        method: str,
        transform: Callable[[Any], Any],
        healthy: dict[str, float],
        input_size: int | None = None,
        lightning: bool = False,
    ):
        self.args, self.method, self.healthy = args, method, healthy
        self.transform = transform
        report_stops()  # a program ends a stopped run with its one line, a notebook goes on
        self.is_main = launch_rank() == 0  # prints and writes; the other processes train
        torch.manual_seed(args.seed)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.use_bf16 = bf16_supported(self.device)
        self.global_batch = args.batch_size * args.devices * args.num_nodes
        self.output_dir = Path(args.output_dir)
        self.weights_path = self.output_dir / f"{method.lower()}_backbone.pt"
        suffix = "ckpt" if lightning else "pt"
        self.checkpoint_path = self.output_dir / f"checkpoint.{suffix}"
        self.input_size = input_size or getattr(args, "input_size", 32)
        input_size = self.input_size
        eval_transform = T.Compose([
            T.Resize(input_size), T.CenterCrop(input_size), T.ToTensor(),
            T.Normalize(**IMAGENET_NORMALIZE),
        ])  # fmt: skip
        try:  # bad input ends in one line that says what to change
            self.data: TrainingData = load_training_data(
                transform, eval_transform, data_dir=args.data_dir, test_dir=args.test_dir,
                fake_data=args.fake_data, download_dir=args.download_dir,
                image_size=input_size, seed=args.seed,
            )  # fmt: skip
            if self.is_main:  # held until the process ends: one run per output folder
                self.lock = check_output_dir(self.weights_path, self.checkpoint_path, args.resume)
        except InputError as error:
            fail(str(error))
        end_on_signals(self.checkpoint_path, self.is_main)
        if len(self.data.train) < self.global_batch:
            fail(
                f"{len(self.data.train)} training images are fewer than one global batch of "
                f"{self.global_batch} (--batch-size x --devices x --num-nodes). Pass a smaller "
                "--batch-size."
            )
        self.record = RunRecord(self.output_dir / "metrics.jsonl")
        if not args.resume:  # a new run: the lines of one that never saved a checkpoint go
            self.record.lines = []
        self.print(f"{method} on {self.device} ({self.precision}): {self.data.description}")
        self._sums: dict[str, float] = {}
        self._steps = 0

    @property
    def precision(self) -> str:
        """The precision in Lightning's words, ``"bf16-mixed"`` where the hardware has bf16,
        else ``"32-true"``."""
        return "bf16-mixed" if self.use_bf16 else "32-true"

    def print(self, *text: Any) -> None:
        if self.is_main:
            print(*text, flush=True)

    def train_loader(self) -> DataLoader:
        """The training images in shuffled batches of ``--batch-size``; the last, incomplete
        batch is dropped (BatchNorm, and losses over the batch, need full batches)."""
        return DataLoader(
            self.data.train, self.args.batch_size, shuffle=True, drop_last=True,
            num_workers=self.args.num_workers,  # new workers, seeded anew, each epoch: exact resume
            collate_fn=skip_unreadable,  # an image that cannot be read is left out, not replaced
        )  # fmt: skip

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast where the hardware computes in bf16 natively, float32 elsewhere."""
        return torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.use_bf16)

    # The plain PyTorch loop.

    def resume(self, **objects: Any) -> int:
        """With ``--resume``, loads the checkpoint into each object (anything with
        ``load_state_dict``) and the random number generator; returns the epoch to start at."""
        self.start(**objects)
        if not self.args.resume:
            return 0
        state = self.load_checkpoint()
        for name, obj in objects.items():
            obj.load_state_dict(state[name])
        torch.set_rng_state(state["rng_state"])  # the augmentations of the whole run
        return state["epoch"]

    def load_checkpoint(self) -> dict[str, Any]:
        """The checkpoint to resume, checked to be this method's (one line otherwise)."""
        try:
            state = load_checkpoint(self.checkpoint_path)
        except InputError as error:
            fail(str(error))
        self.check_written_by(state)
        self.record.resume_after(state["epoch"])
        self.print(f"Resuming after epoch {state['epoch']} from {self.checkpoint_path}")
        return state

    def check_written_by(self, state: dict[str, Any]) -> None:
        """Ends the run with one line if the checkpoint ``state`` is another method's, or was
        trained on crops of another size (checkpoints from before sizes were saved pass)."""
        written_by = state.get("method")
        if written_by != self.method:
            fail(
                f"{self.checkpoint_path} was written by {written_by}, not {self.method}. "
                f"Resume it with {written_by}'s script, or choose another --output-dir."
            )
        size = state.get("input_size", self.input_size)
        if size != self.input_size:
            fail(
                f"{self.checkpoint_path} was trained on crops of {size} px, not "
                f"{self.input_size}. Resume with --input-size {size}, or choose another "
                "--output-dir."
            )

    def start(
        self,
        model: nn.Module | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        **_: Any,
    ) -> None:
        """Writes the run's settings as the record's first line (once per output folder): the
        flags, the global batch, device and precision, whether the convolutions' weights are
        channels-last, the optimiser's settings per parameter group, the number of parameters
        of each part of the model, and the training transform."""
        if not self.is_main or any(line["kind"] == "start" for line in self.record.lines):
            return
        groups = [] if optimizer is None else optimizer.param_groups
        convolutions = [p for p in (model.parameters() if model else []) if p.dim() == 4]
        channels_last = bool(convolutions) and all(
            p.is_contiguous(memory_format=torch.channels_last) for p in convolutions
        )
        parts = {} if model is None else {
            name: sum(p.numel() for p in child.parameters())
            for name, child in model.named_children()
        }  # fmt: skip
        settings = dict(
            method=self.method, args=vars(self.args), global_batch=self.global_batch,
            device=self.device, precision=self.precision, channels_last=channels_last,
            optimizer=[{k: v for k, v in g.items() if k != "params"} for g in groups],
            parameters={name: count for name, count in parts.items() if count},
            transform=repr(self.transform),
        )  # fmt: skip
        self.write(lambda: self.record.write("start", **settings))

    def epoch(self, loader: Iterable, epoch: int, optimizer: torch.optim.Optimizer) -> Iterator:
        """The batches of one epoch, with a progress bar and a clock."""
        self._epoch, self._sums, self._steps = epoch, {}, 0
        self._lr = optimizer.param_groups[0]["lr"]
        self._clock = time.perf_counter()
        self._bar = progress_bar(loader, desc=f"epoch {epoch + 1}/{self.args.epochs}")
        return iter(self._bar)

    def log(self, loss: torch.Tensor, **monitors: torch.Tensor) -> None:
        """Adds one step's loss and collapse monitors to the epoch's means."""
        values = {"loss": loss.item(), **{k: v.item() for k, v in monitors.items()}}
        self.check_finite(values["loss"], self._steps + 1)
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._steps += 1
        self._bar.set_postfix(loss=f"{values['loss']:.3f}")

    def check_finite(self, loss: float, step: int, epoch: int | None = None) -> None:
        """Raises :class:`~lightly_min.harness.stopping.RunStopped` when the loss is not a
        number: training has diverged, and the next checkpoint would hold its weights. The
        last one, before it, is kept. ``epoch``: counted from 0, by default the current."""
        if epoch is not None:
            self._epoch = epoch
        if not math.isfinite(loss):
            raise RunStopped(
                f"the loss is {loss} at step {step} of epoch {self._epoch + 1}: training "
                f"diverged. Nothing of this epoch was saved; {self.checkpoint_path} holds the "
                "last finite state. Lower --lr, or check the data, then start again (or "
                "continue with --resume)."
            )

    def write(self, write: Callable[[], None]) -> None:
        """Runs a write of the output folder; a failure (e.g. a full disk) raises
        :class:`~lightly_min.harness.stopping.RunStopped` with one line."""
        try:
            write()
        except InputError as error:
            raise RunStopped(str(error)) from None

    def end_epoch(self, **objects: Any) -> None:
        """Saves the checkpoint (each object's ``state_dict``, atomically) and records the
        epoch: mean loss and monitors, images per second, learning rate."""
        seconds = time.perf_counter() - self._clock
        state = {name: obj.state_dict() for name, obj in objects.items()}
        state.update(method=self.method, input_size=self.input_size, epoch=self._epoch + 1,
                     rng_state=torch.get_rng_state())  # fmt: skip
        self.write(lambda: save_checkpoint(state, self.checkpoint_path))  # atomic
        means = {name: total / self._steps for name, total in self._sums.items()}
        self.record_epoch(self._epoch + 1, means, self._steps * self.global_batch / seconds,
                          self._lr)  # fmt: skip

    # Shared by both flavours.

    def record_epoch(
        self, epoch: int, means: dict[str, float], images_per_second: float, lr: float
    ) -> None:
        """Writes and prints one epoch's line of the record."""
        if not self.is_main:
            return
        healthy = {
            f"{name}_healthy": value for name, value in self.healthy.items() if value is not None
        }
        self.write(lambda: self.record.write(
            "epoch", epoch=epoch, **means, **healthy, images_per_second=images_per_second, lr=lr
        ))  # fmt: skip
        monitors = "  ".join(
            f"{name} {means[name]:.4f}" + ("" if value is None else f" (healthy {value:.4f})")
            for name, value in self.healthy.items()
        )
        self.print(
            f"epoch {epoch}/{self.args.epochs}  loss {means['loss']:.4f}  {monitors}  "
            f"{images_per_second:.0f} images/s"
        )

    def finish(self, backbone: nn.Module, device: torch.device | str | None = None) -> None:
        """Saves the backbone's weights (atomically), then evaluates them on the held-out
        images, on ``device`` (default: the run's), and records the result."""
        # Under ddp_notebook the processes that trained were forked from this one and wrote
        # the record's earlier lines: read them back before adding the final one.
        self.record = RunRecord(self.record.path)
        weights = backbone.state_dict()
        self.write(lambda: atomic_write(self.weights_path, lambda file: torch.save(weights, file)))
        self.print(f"Saved the backbone's weights to {self.weights_path}")
        if self.data.test is None:
            reason = self.data.no_evaluation
            self.write(lambda: self.record.write(
                "final", weights=str(self.weights_path), evaluation=None, reason=reason
            ))  # fmt: skip
            self.print(f"No evaluation: {reason}.")
            return
        bank, test = (
            DataLoader(images, 256, num_workers=self.args.num_workers, collate_fn=skip_unreadable)
            for images in (self.data.bank, self.data.test)
        )
        accuracy = evaluate_backbone(backbone.to(device or self.device), bank, test)
        self.write(lambda: self.record.write(
            "final", weights=str(self.weights_path), evaluation=accuracy._asdict()
        ))  # fmt: skip
        self.print(
            f"Held-out accuracy: kNN {accuracy.knn:.4f}, linear probe {accuracy.linear_probe:.4f}"
        )
