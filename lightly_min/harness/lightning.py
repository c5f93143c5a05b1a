"""The :class:`~lightly_min.harness.run.Run` of a Lightning example, as callbacks.

``callbacks(run)`` gives the Trainer what the plain PyTorch loop does by hand: a checkpoint at
the end of every epoch (model, optimiser, schedule, epoch, and the random state, so that
``--resume`` continues the same augmentations), the check that a resumed checkpoint is this
method's, the run record's lines (written by the process of rank 0), a stop at the first
loss that is not a number, and SIGTERM and SIGINT ending every process at once with an honest
exit status. ``AtomicCheckpointIO(run)``, a Trainer plugin, writes each checkpoint to a
temporary file beside it and renames it into place, so that no kill leaves a broken one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.plugins import TorchCheckpointIO
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

from lightly_min.harness import stopping
from lightly_min.harness.output import atomic_write, load_checkpoint
from lightly_min.harness.run import Run, fail
from lightly_min.harness.stopping import end_on_signals


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, written atomically in the checkpoint's own folder
    (:func:`~lightly_min.harness.output.atomic_write`), on any file system; a failed write
    (e.g. a full disk) ends the run with one line."""

    def __init__(self, run: Run):
        super().__init__()
        self.run = run

    def save_checkpoint(self, checkpoint: dict, path: str | Path, storage_options: Any = None):
        self.run.write(lambda: atomic_write(path, lambda file: torch.save(checkpoint, file)))

    def load_checkpoint(self, path: str | Path, map_location: Any = None, weights_only=None):
        try:
            return load_checkpoint(path)
        except Exception as error:
            fail(str(error))


class RunCallback(Callback):
    """Writes the run record from what the LightningModule logs (``loss``, and each of the
    run's collapse monitors, logged with ``on_epoch=True``), and keeps the random state and
    the method's name in every checkpoint."""

    def __init__(self, run: Run):
        self.run = run
        self._resumed_rng: torch.Tensor | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.run.is_main = trainer.is_global_zero  # also in processes forked by ddp_notebook
        launcher = trainer.strategy.launcher
        if isinstance(launcher, _SubprocessScriptLauncher):  # rank 0 started the others
            stopping.children[:] = launcher.procs
        end_on_signals(self.run.checkpoint_path, self.run.is_main)  # over Lightning's handlers
        self.run.start(model=pl_module, optimizer=trainer.optimizers[0])
        if self._resumed_rng is not None:
            _restart_train_iterator(trainer, self._resumed_rng)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._clock = time.perf_counter()
        self._lr = trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.run.check_finite(float(loss), batch_idx + 1, trainer.current_epoch)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The epoch's line of the record, written by :class:`RunCheckpoint` once the epoch's
        checkpoint is on disk (as the plain PyTorch loop does): a record never names an epoch
        that no checkpoint holds."""
        metrics = trainer.callback_metrics
        names = ["loss", *self.run.healthy]
        means = {name: float(metrics.get(f"{name}_epoch", metrics[name])) for name in names}
        images = trainer.num_training_batches * self.run.global_batch
        seconds = time.perf_counter() - self._clock
        self.pending = (trainer.current_epoch + 1, means, images / seconds, self._lr)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: Any, checkpoint: dict) -> None:
        checkpoint["method"] = self.run.method
        checkpoint["input_size"] = self.run.input_size
        checkpoint["rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: Any, checkpoint: dict) -> None:
        self.run.check_written_by(checkpoint)
        # Saved at the end of an epoch, which Lightning counts from 0.
        self.run.record.resume_after(checkpoint["epoch"] + 1)
        self._resumed_rng = checkpoint["rng_state"]
        torch.set_rng_state(self._resumed_rng)


def _restart_train_iterator(trainer: pl.Trainer, rng_state: torch.Tensor) -> None:
    """The first epoch of a resumed fit in the order of the epoch it is, not of epoch 0.

    Lightning 2.6 creates that epoch's iterator before it sets the sampler's epoch, and with
    DataLoader workers the iterator takes its first indices at once: every DDP run resumed
    with workers would repeat epoch 0's order (Lightning#21938, open). So the epoch is set
    here, and the iterator created again from the random state the checkpoint restored, the
    state from which the unbroken run created it.
    """
    for loader in trainer.fit_loop._combined_loader.flattened:
        for sampler in (loader.sampler, getattr(loader.batch_sampler, "sampler", None)):
            if hasattr(sampler, "set_epoch"):  # a DistributedSampler
                sampler.set_epoch(trainer.current_epoch)
    torch.set_rng_state(rng_state)
    iter(trainer.fit_loop._data_fetcher)


class RunCheckpoint(ModelCheckpoint):
    """``OUTPUT_DIR/checkpoint.ckpt`` at the end of every epoch (replaced, never versioned),
    then the epoch's line of the run record."""

    def __init__(self, run: Run, recorder: RunCallback):
        super().__init__(
            dirpath=run.output_dir, filename=run.checkpoint_path.stem, enable_version_counter=False
        )
        self.run, self.recorder = run, recorder

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)  # Lightning calls this one last
        self.run.record_epoch(*self.recorder.pending)


def callbacks(run: Run) -> list[Callback]:
    """The run record and an every-epoch checkpoint, ``OUTPUT_DIR/checkpoint.ckpt``."""
    recorder = RunCallback(run)
    return [recorder, RunCheckpoint(run, recorder)]


def resume_path(run: Run) -> str | None:
    """The checkpoint for ``Trainer.fit(ckpt_path=...)``: the run's with ``--resume``."""
    if run.args.resume:
        run.print(f"Resuming from {run.checkpoint_path}")
        return str(run.checkpoint_path)
    return None
