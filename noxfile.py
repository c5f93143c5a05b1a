"""Sessions: ``nox -s docs examples`` (the main job), ``tests``, ``lint`` and ``bench``.

PyTorch takes about 5 GB per virtual environment, so ``tests``, ``examples`` and ``docs`` share
one, kept with nox's environments outside the clone (``~/.cache/lightly_min/nox``, or
``$LIGHTLY_MIN_NOX_ENVDIR``) and reused across runs: a new machine builds it once (about two
minutes); later runs only check it. Delete that folder to rebuild from scratch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.envdir = os.environ.get(
    "LIGHTLY_MIN_NOX_ENVDIR", str(Path.home() / ".cache" / "lightly_min" / "nox")
)
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests", "docs", "examples"]

ROOT = Path(__file__).parent
# The pair that installs on the project's machines (x86_64, Python 3.11, from local wheels).
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
EXTRAS = "lightning,test,docs"


def shared_python(session: nox.Session) -> str:
    """The Python of the shared torch environment, created or updated as needed."""
    venv = Path(nox.options.envdir) / "torch-shared"
    python = venv / "bin" / "python"
    # Reinstall when the requirements change, or for another clone (lightly_min is editable).
    wanted = "\n".join([*TORCH, EXTRAS, str(ROOT), (ROOT / "pyproject.toml").read_text()])
    stamp = venv / "installed.sha256"
    digest = hashlib.sha256(wanted.encode()).hexdigest()
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
    if not stamp.exists() or stamp.read_text() != digest:
        session.log(f"Installing torch and lightly_min[{EXTRAS}] into {venv}")
        pip = [str(python), "-m", "pip", "install", "--progress-bar", "off"]
        session.run(*pip, "--upgrade", "pip", external=True)
        session.run(*pip, *TORCH, "-e", f"{ROOT}[{EXTRAS}]", external=True)
        stamp.write_text(digest)
    else:
        session.log(f"Reusing {venv} (delete it to rebuild)")
    return str(python)


def python(session: nox.Session, *args: str, **env: str) -> None:
    """Runs ``python *args`` in the shared torch environment."""
    session.run(shared_python(session), *args, env=env, external=True)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Unit tests and the examples' behaviour (offline message, --data-dir, seeding)."""
    python(session, "-m", "pytest", "-m", "not smoke and not docs_build", *session.posargs)


@nox.session(venv_backend="none")
def examples(session: nox.Session) -> None:
    """Smoke-runs every example that a docs page includes (CPU, noise images, few steps)."""
    selected = ["-m", "smoke or includes", "-v", "--durations=0"]
    python(session, "-m", "pytest", *selected, *session.posargs)


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Builds the site offline, warnings as errors, then tests its HTML in headless Chromium.

    ``nox -s docs -- --serve`` serves it on http://127.0.0.1:8000 with live reload instead.
    """
    html = ROOT / "docs" / "_build" / "html"
    if "--serve" in session.posargs:
        serve = ["--host", "127.0.0.1", "--port", "8000", "--ignore", str(html.parent)]
        python(session, "-m", "sphinx_autobuild", "docs", str(html), *serve)
        return
    shutil.rmtree(html.parent, ignore_errors=True)
    python(session, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "docs", str(html))
    tests = ["-m", "docs_build or includes", "-v", *session.posargs]
    python(session, "-m", "pytest", *tests, LIGHTLY_MIN_DOCS_HTML=str(html))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on the code, sphinx-lint on the docs."""
    session.install("ruff>=0.6", "sphinx-lint>=1.0")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("sphinx-lint", "--enable", "all", "--disable", "line-too-long", "docs")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (minutes, not in CI): learning on MNIST digits and speed against lightly."""
    session.install(*TORCH)
    session.install("-e", ".[lightning]", "-r", "benchmarks/requirements.txt")
    session.run("python", "benchmarks/run.py", *session.posargs)
