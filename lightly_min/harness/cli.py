"""The command line every example shares: its flags, their defaults and their validation.

Flag names appear here and in the rest of :mod:`lightly_min.harness` only: the library's own
functions name their parameters, never a script's flags.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence


def parse_args(
    argv: Sequence[str] | None,
    method: str,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    flavour: str = "pytorch",
) -> argparse.Namespace:
    """Parses an example's flags; ends the program with one ``error: ...`` line for a bad value.

    Args:
        argv: The arguments (``None``: the program's own).
        method: The method's name, e.g. ``"SimSiam"``; the default output folder is
            ``checkpoints/<method>_<flavour>``.
        epochs, batch_size, lr: The recipe's defaults; ``lr`` is per 256 images.
        flavour: ``"pytorch"``, ``"lightning"`` or ``"distributed"``; the distributed flavour
            also has ``--devices``, ``--num-nodes`` and ``--strategy``.
    """
    parser = argparse.ArgumentParser(description=f"{method} on CIFAR-10 or your images")
    add = parser.add_argument
    add("--data-dir", help="train on this folder of images instead of CIFAR-10")
    add("--test-dir", help="held-out images, in the classes of --data-dir")
    add("--fake-data", type=int, default=0, help="N noise images: a smoke run")
    add("--download-dir", default="datasets", help="where CIFAR-10 is, or goes")
    add("--output-dir", default=f"checkpoints/{method.lower()}_{flavour}")
    add("--resume", action="store_true", help="continue the stopped run in --output-dir")
    add("--epochs", type=int, default=epochs)
    add("--batch-size", type=int, default=batch_size, help="per process")
    add("--lr", type=float, default=lr, help="per 256 images of the global batch")
    add("--input-size", type=int, default=32, help="crop size in px; above 64 the ImageNet stem")
    add("--num-workers", type=int, default=4, help="DataLoader worker processes")
    add("--seed", type=int, default=0)
    if flavour == "distributed":
        add("--devices", type=int, default=1, help="processes per node (one per GPU)")
        add("--num-nodes", type=int, default=1)
        add("--strategy", default="ddp", help="ddp_notebook in Jupyter")
    args = parser.parse_args(argv)
    args.devices = getattr(args, "devices", 1)
    args.num_nodes = getattr(args, "num_nodes", 1)
    problem = _problem(args)
    if problem:
        sys.exit(f"error: {problem}")
    return args


def _problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the parsed flags, in one line, or None."""
    at_least = [
        ("--epochs", args.epochs, 1, "train for at least 1 epoch"),
        ("--batch-size", args.batch_size, 2, "BatchNorm needs 2 images or more"),
        ("--input-size", args.input_size, 8, "32 for CIFAR-10, your images' size otherwise"),
        ("--num-workers", args.num_workers, 0, "0 loads the images in the main process"),
        ("--fake-data", args.fake_data, 0, "0 trains on real images"),
        ("--devices", args.devices, 1, "one process per GPU, or per CPU share"),
        ("--num-nodes", args.num_nodes, 1, "1 trains on this machine"),
    ]
    for flag, value, least, hint in at_least:
        if value < least:
            return f"{flag} {value}: must be {least} or more ({hint})."
    if not (math.isfinite(args.lr) and args.lr > 0):
        return f"--lr {args.lr}: must be a positive number (per 256 images)."
    if not 0 <= args.seed < 2**32:
        return f"--seed {args.seed}: must be from 0 to {2**32 - 1} (numpy's range)."
    if args.fake_data and (args.data_dir or args.test_dir):
        given = "--data-dir" if args.data_dir else "--test-dir"
        return (
            f"--fake-data and {given}: choose one. --fake-data trains on noise images instead "
            "of your folder; drop it to train on your images."
        )
    return None


_ONE_PROCESS = ["--fake-data", "8", "--epochs", "1", "--batch-size", "4", "--num-workers", "0"]
#: The flags of each flavour's smoke run (see :func:`smoke_args`).
_SMOKE = {
    "pytorch": _ONE_PROCESS,
    "lightning": _ONE_PROCESS,
    "distributed": ["--devices", "2", *_ONE_PROCESS],
}


def smoke_args(flavour: str = "pytorch") -> list[str]:
    """The flags of an example's smoke run: 8 noise images for one epoch, seconds on a
    CPU, nothing to learn. The same flags in every flavour, so that their runs compare;
    the distributed flavour adds two processes, which share the images.

    This is the one place that says what a smoke run is: CI runs it, each example's notebook
    ends with it, and each example's header shows it on its ``Smoke:`` line (a test checks).

    Args:
        flavour: ``"pytorch"``, ``"lightning"`` or ``"distributed"``, as for :func:`parse_args`.
    """
    if flavour not in _SMOKE:
        raise ValueError(f"flavour {flavour!r}: must be one of {', '.join(_SMOKE)}")
    return list(_SMOKE[flavour])
