"""What the example tests share: where the examples are, which ones the docs include, and how
to run one the way its header says."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
INCLUDE = re.compile(r"^[ \t]*\.\.[ \t]+literalinclude::[ \t]+(\S+)[ \t]*$", re.MULTILINE)
EPOCH_LOSS = re.compile(r"\bepoch (\d+)/(\d+)  loss (\S+)")
SAVED = re.compile(r"^Saved the backbone's weights to (.+)$", re.MULTILINE)
Z_STD = re.compile(r"\bepoch \d+/\d+  loss \S+  z-std (\S+) \(healthy (\S+)\)")
HELD_OUT = re.compile(r"^Held-out accuracy: kNN (\S+), linear probe (\S+)$", re.MULTILINE)


def literalincludes() -> list[tuple[Path, Path]]:
    """(page, target) for every literalinclude in docs/**/*.rst; targets as Sphinx resolves
    them: relative to the page, or to docs/ when they start with '/'."""
    found = []
    for page in sorted(DOCS.rglob("*.rst")):
        if "_build" in page.relative_to(DOCS).parts:
            continue
        for argument in INCLUDE.findall(page.read_text()):
            base = DOCS if argument.startswith("/") else page.parent
            found.append((page, (base / argument.lstrip("/")).resolve()))
    return found


FLAVOURS = ["pytorch", "pytorch_lightning", "pytorch_lightning_distributed"]


def example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.py"))


def methods() -> list[str]:
    """Every method of the project: one script per method in examples/pytorch/."""
    return sorted(path.stem for path in (EXAMPLES / "pytorch").glob("*.py"))


def smoke_command(example: Path) -> list[str]:
    """The command after 'Smoke:' in the example's header, with this Python and the full path
    (parsed as docs/_ext/notebooks.py parses it for the notebooks' last cell)."""
    return [sys.executable, str(example), *notebooks().smoke_arguments(example.read_text())]


def notebooks():
    """docs/_ext/notebooks.py, loaded by path."""
    spec = importlib.util.spec_from_file_location("notebooks", DOCS / "_ext" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(command: list[str], cwd: Path, timeout: float = 300, gpu: bool = False, **env: str):
    """Runs a command with the clone's lightly_min importable; on the CPU only (every GPU
    hidden) unless ``gpu``."""
    environment = {**os.environ, **({} if gpu else {"CUDA_VISIBLE_DEVICES": ""}), **env}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def epoch_losses(output: str) -> list[float]:
    """The mean losses that the example printed, one per epoch (progress bars end in \r)."""
    return [float(loss) for _, _, loss in EPOCH_LOSS.findall(output.replace("\r", "\n"))]


def held_out_accuracy(output: str) -> tuple[float, float] | None:
    """(kNN, linear probe) accuracy that the example printed, or None."""
    found = HELD_OUT.findall(output)
    return (float(found[0][0]), float(found[0][1])) if found else None


def saved_weights(output: str, cwd: Path) -> Path:
    (path,) = SAVED.findall(output.replace("\r", "\n"))
    return cwd / path
