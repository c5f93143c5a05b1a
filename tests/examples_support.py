"""What the example tests share: where the examples are, which ones the docs include, and how
to run one the way its header says."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
INCLUDE = re.compile(r"^[ \t]*\.\.[ \t]+literalinclude::[ \t]+(\S+)[ \t]*$", re.MULTILINE)


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
    """Every example script: ``examples/<flavour folder>/<method>.py`` (not the notebook
    generator, ``examples/make_notebooks.py``)."""
    return sorted(path for flavour in FLAVOURS for path in (EXAMPLES / flavour).glob("*.py"))


def methods() -> list[str]:
    """Every method of the project: one script per method in examples/pytorch/."""
    return sorted(path.stem for path in (EXAMPLES / "pytorch").glob("*.py"))


def smoke_command(example: Path) -> list[str]:
    """The example's smoke run (:func:`lightly_min.harness.cli.smoke_args`, which its
    header's 'Smoke:' line shows), with this Python and the full path."""
    from lightly_min.harness.cli import smoke_args

    return [sys.executable, str(example), *smoke_args(notebooks().flavour(example))]


def notebooks():
    """The notebook generator, examples/make_notebooks.py, loaded by path."""
    spec = importlib.util.spec_from_file_location("notebooks", EXAMPLES / "make_notebooks.py")
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


def read_record(output_dir: Path) -> list[dict]:
    """The run record ``OUTPUT_DIR/metrics.jsonl`` that every example writes."""
    path = Path(output_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def of_kind(record: list[dict], kind: str) -> list[dict]:
    """The record's lines of one kind: "start", "epoch" or "final"."""
    return [line for line in record if line["kind"] == kind]


def epoch_losses(output_dir: Path) -> list[float]:
    """The mean loss of each epoch, from the run record."""
    return [line["loss"] for line in of_kind(read_record(output_dir), "epoch")]


def final(output_dir: Path) -> dict:
    """The record's final line: the saved weights and the held-out evaluation (or None)."""
    (line,) = of_kind(read_record(output_dir), "final")
    return line


def method_facts() -> dict:
    """docs/method_facts.toml, parsed (tomllib, or its package tomli on Python 3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomli as tomllib
    return tomllib.loads((ROOT / "docs" / "method_facts.toml").read_text())
