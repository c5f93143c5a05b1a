"""Checkpoints that survive an interrupted run, and the output folder a run writes to."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from lightly_min.errors import InputError


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """``torch.save(state, path)``, atomically: a run killed while writing leaves the previous
    checkpoint at ``path`` intact.

    The state is written to a temporary file in the same folder, flushed to disk, and then
    renamed to ``path`` (``os.replace``, atomic on POSIX and Windows file systems).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_output_dir(weights: str | Path, checkpoint: str | Path, resume: bool) -> None:
    """Checks the output folder of a run before it starts, and creates it if needed.

    A run writes ``checkpoint`` at least once per epoch and ``weights`` when training has
    finished. So an output folder (the folder of ``weights``) with ``weights`` holds a
    finished run, and one with only ``checkpoint`` an interrupted one.

    Raises:
        InputError: the folder cannot be written; it holds a finished run; it holds an
            interrupted run and ``resume`` is false; ``resume`` is true but there is no
            checkpoint. Nothing in the folder is overwritten silently.
    """
    weights, checkpoint = Path(weights), Path(checkpoint)
    folder = weights.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InputError(
            f"Cannot write to --output-dir {folder} ({error.strerror or error}). Choose a "
            "folder you can write to."
        ) from None
    if weights.exists():
        raise InputError(
            f"{folder} already holds a finished run ({weights.name}). Choose another "
            "--output-dir, or delete that folder to train again."
        )
    if checkpoint.exists() and not resume:
        raise InputError(
            f"{folder} holds an interrupted run ({checkpoint.name}). Add --resume to continue "
            "it, or choose another --output-dir."
        )
    if resume and not checkpoint.exists():
        raise InputError(
            f"--resume found no checkpoint ({checkpoint.name}) in {folder}. Name the "
            "--output-dir of the run to continue, or leave out --resume."
        )
