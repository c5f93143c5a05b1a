"""What a run writes to its output folder, so that nothing is lost: checkpoints and the final
weights written atomically, the run record, and the checks before a run starts."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from lightly_min.errors import InputError


def atomic_write(path: str | Path, write: Any) -> None:
    """Calls ``write(file)`` on a temporary file beside ``path``, flushes it to disk, and then
    renames it to ``path`` (``os.replace``, atomic on POSIX and Windows file systems): a run
    killed while writing leaves the previous file at ``path`` whole, or no file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """``torch.save(state, path)``, atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda file: torch.save(state, file))


class RunRecord:
    """``metrics.jsonl``: one JSON object per line, each with a ``"kind"``: ``"start"`` (the
    settings), ``"epoch"`` (one per epoch) and ``"final"`` (the held-out evaluation, or why
    there is none). Rewritten atomically at each line; on resume the epochs after the
    checkpoint's are dropped, so the record always describes the weights on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.lines: list[dict[str, Any]] = []
        if self.path.exists():
            self.lines = [json.loads(line) for line in self.path.read_text().splitlines()]

    def resume_after(self, epoch: int) -> None:
        """Drops the epoch and final lines after ``epoch``, the checkpoint's."""
        self.lines = [
            line for line in self.lines
            if line["kind"] == "start" or (line["kind"] == "epoch" and line["epoch"] <= epoch)
        ]  # fmt: skip

    def write(self, kind: str, **fields: Any) -> None:
        self.lines.append({"kind": kind, **fields})
        text = "".join(json.dumps(line) + "\n" for line in self.lines)
        atomic_write(self.path, lambda file: file.write(text.encode()))


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
