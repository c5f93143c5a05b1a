"""How a run ends before its time: one job, for the harness's two flavours.

* :class:`RunStopped`: what :class:`~lightly_min.harness.run.Run` raises when a run cannot go
  on (a loss that is not a number, a write that fails). Library code raises it; a program
  started from the command line ends with its one ``error: ...`` line and exit status 1
  (:func:`report_stops`), and a notebook shows the line and keeps its kernel.
* :func:`end_on_signals`: SIGTERM and SIGINT end a program at once with exit status 128 + the
  signal's number, after one line that says how to continue (not in a notebook, where an
  interrupt stops the cell).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm.auto import tqdm

# Processes to take down with this one on a signal: a Lightning DDP launch's other ranks.
children: list[Any] = []


class RunStopped(Exception):
    """A run that cannot go on; ``str()`` is the one line that says why and what to do.
    Nothing is left half-written: every file a run writes is replaced whole."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status

    def _render_traceback_(self) -> list[str]:  # IPython: the line, not a traceback
        return [f"error: {self}"]


def in_notebook() -> bool:
    return "ipykernel" in sys.modules


def report_stops() -> None:
    """In a program, an uncaught :class:`RunStopped` prints its ``error: ...`` line, without a
    traceback, and the program ends with its status; other exceptions are reported as usual."""
    if in_notebook() or getattr(sys.excepthook, "reports_stops", False):
        return
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType) -> None:
        if not isinstance(error, RunStopped):
            previous(kind, error, trace)
            return
        end_now(error.status, str(error))

    hook.reports_stops = True
    sys.excepthook = hook


def end_now(status: int, message: str | None = None) -> None:
    """Ends this process at once with ``status``, after one ``error: ...`` line (if any) and
    after ending the processes in ``children`` and the DataLoader's workers."""
    if message:  # on a line of its own, after any progress bar
        tqdm.write(f"error: {message}", file=sys.stderr)
        sys.stderr.flush()
    # The workers are forked: they hold the output folder's lock too, and left alone they
    # would notice only seconds later that this process is gone, so a --resume started at
    # once would be told that another run is writing.
    workers = multiprocessing.active_children()
    for child in [*children, *workers]:
        with contextlib.suppress(Exception):
            child.kill()
    for child in [*children, *workers]:
        with contextlib.suppress(Exception):
            child.wait(5) if hasattr(child, "wait") else child.join(5)
    sys.stdout.flush()
    os._exit(status)


def end_on_signals(checkpoint: Path, is_main: bool) -> None:
    """SIGTERM (what schedulers such as SLURM send) and SIGINT (Ctrl+C) end the run at once,
    with exit status 128 + the signal's number (143 and 130) and one line that says how to
    continue. Installed again by the Lightning callback, over Lightning's own handlers."""

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        message = (
            f"stopped by {name}. The last checkpoint, {checkpoint}, is whole: run the same "
            "command with --resume to continue."
        )
        end_now(128 + signum, message if is_main else None)

    if in_notebook():  # in Jupyter, an interrupt stops the cell, not the kernel
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
