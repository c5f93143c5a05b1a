"""What a run writes to its output folder, so that nothing is lost: checkpoints and the final
weights written atomically, the run record, and the checks before a run starts."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from lightly_min.errors import InputError

#: The suffix of the temporary files that :func:`atomic_write` renames into place.
TEMPORARY_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Any) -> None:
    """Calls ``write(file)`` on a temporary file beside ``path``, flushes it to disk, and then
    renames it to ``path`` (``os.replace``, atomic on POSIX file systems): a run killed while
    writing leaves the previous file at ``path`` whole, or no file. The temporary file is in
    the same folder, so the rename never crosses file systems.

    Raises:
        InputError: the file cannot be written (e.g. the disk is full); the previous file at
            ``path`` is left as it was.
    """
    path = Path(path)
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX
        )
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would create it, not mkstemp's 0600
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        # torch.save reports a full disk as a RuntimeError of its zip writer: look at the disk
        # before the temporary file is removed and frees the space again.
        full = isinstance(error, Exception) and shutil.disk_usage(path.parent).free < 2**20
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        if full or isinstance(error, OSError):
            reason = "No space left on device" if full else (error.strerror or str(error))
            raise InputError(
                f"Cannot write {path} ({reason}). Free some space or choose another "
                "--output-dir; the previous file there is whole."
            ) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at ``path``, or one line saying why it cannot be read.

    Raises:
        InputError: the file is empty, truncated or not a checkpoint.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several kinds for a broken file
        raise InputError(
            f"Cannot read the checkpoint {path} ({type(error).__name__}: {error}); it is empty "
            "or truncated, so it was not written by a run of these scripts, which replace it "
            "whole. Restore it from a copy, or start again in another --output-dir."
        ) from None


class OutputLock:
    """An exclusive lock on an output folder, held while a run writes to it, so that a second
    run into the same folder stops at once instead of overwriting the first's files.

    The lock is ``fcntl.flock`` on ``FOLDER/.lock``: the system releases it when the process
    ends, however it ends (even by SIGKILL), and the processes it forked (DataLoader workers)
    end, so a stale lock never blocks a later run. Where only such forked processes of an
    ended run still hold it, the next run waits for them (:attr:`ORPHAN_WAIT`).
    """

    #: How many seconds to wait for the lock when the run that took it has ended. Its
    #: DataLoader workers (forked, so they share the lock) notice within about five seconds.
    ORPHAN_WAIT = 10.0

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / ".lock"
        self.file = open(self.path, "a+")  # noqa: SIM115 (held for the whole run)
        deadline = time.monotonic() + self.ORPHAN_WAIT
        while not self._take():
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            if _alive(holder) or time.monotonic() > deadline:
                self.file.close()
                raise InputError(
                    f"Another run ({holder}) is writing to {self.path.parent}. Wait for it to "
                    "end, or choose another --output-dir."
                )
            time.sleep(0.1)
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"process {os.getpid()}")
        self.file.flush()
        for stale in Path(folder).glob(f".*{TEMPORARY_SUFFIX}"):  # of a run killed mid-write
            stale.unlink(missing_ok=True)

    def _take(self) -> bool:
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


def _alive(holder: str) -> bool:
    """Whether the process named in a lock file (``"process 1234"``) still runs."""
    try:
        os.kill(int(holder.split()[-1]), 0)
    except ProcessLookupError:
        return False
    except (ValueError, IndexError, PermissionError):
        pass  # not written by OutputLock, or another user's process: taken as alive
    return True


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


def check_output_dir(weights: str | Path, checkpoint: str | Path, resume: bool) -> OutputLock:
    """Checks the output folder of a run before it starts, and creates it if needed.

    A run writes ``checkpoint`` at least once per epoch and ``weights`` when training has
    finished. So an output folder (the folder of ``weights``) with ``weights`` holds a
    finished run, and one with only ``checkpoint`` an interrupted one.

    Raises:
        InputError: the folder cannot be written; another run is writing to it; it holds a
            finished run; it holds an interrupted run and ``resume`` is false; ``resume`` is
            true but there is no checkpoint. Nothing in the folder is overwritten silently.

    Returns:
        The folder's :class:`OutputLock`, to hold until the run ends.
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
    lock = OutputLock(folder)
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
    return lock
