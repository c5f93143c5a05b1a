"""Sessions: ``nox -s docs examples`` (the main job), ``tests``, ``lint``, and, not in CI,
``bench``, ``tutorials`` (runs the tutorials at full scale), ``tune`` (a tuning sweep) and
``notebooks``.

PyTorch takes about 5 GB per virtual environment, so ``tests``, ``examples`` and ``docs`` share
one, kept with nox's environments outside the clone (``~/.cache/lightly_min/nox``, or
``$LIGHTLY_MIN_NOX_ENVDIR``) and reused across runs: a new machine builds it once (about two
minutes); later runs only check it. Delete that folder to rebuild from scratch.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
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
EXTRAS = "lightning,tutorials,test,docs"


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


class Clock:
    """How long each part of a session took, printed as a table at its end."""

    def __init__(self, session: nox.Session):
        self.session, self.parts, self.start = session, [], time.perf_counter()

    def python(self, part: str, *args: str, **env: str) -> None:
        """Runs ``python *args`` (see :func:`python`) as the part named ``part``."""
        start = time.perf_counter()
        try:
            python(self.session, *args, **env)
        finally:
            self.parts.append((part, time.perf_counter() - start))

    def report(self) -> None:
        total = time.perf_counter() - self.start
        rows = [*self.parts, ("whole session", total)]
        width = max(len(part) for part, _ in rows)
        lines = [f"{part:{width}}  {seconds:6.1f} s" for part, seconds in rows]
        self.session.log("Time per part:\n" + "\n".join(lines))


def test_processes() -> str:
    """pytest-xdist processes for the examples: one per core, at most 4 (each starts a
    Jupyter kernel and imports torch)."""
    return str(min(4, os.cpu_count() or 1))


def files_marked(*markers: str) -> list[str]:
    """The test files that use any of ``markers`` (``mark.<name>``): pytest then collects
    only those (each test process collects what it is given, and the other files import a
    lot), and ``-m`` still selects the tests."""
    names = "|".join(map(re.escape, markers))
    used = re.compile(rf"\bmark\.({names})\b")
    files = sorted((ROOT / "tests").glob("test_*.py"))
    return [str(path) for path in files if used.search(path.read_text())]


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Unit tests and the examples' behaviour (offline message, --data-dir, seeding)."""
    python(session, "-m", "pytest", "-m", "not smoke and not docs_build", *session.posargs)


@nox.session(venv_backend="none")
def examples(session: nox.Session) -> None:
    """Runs every example, notebook and tutorial at smoke scale (CPU, noise images or a few
    digits, one or two epochs), each training once, on every core (pytest-xdist):

    * each example trains in its notebook, in a Jupyter kernel; the notebook is the script's
      code (checked), and the script runs as ``__main__`` with ``--help``; the distributed
      SimCLR script also trains under torchrun;
    * each tutorial runs as its notebook (sphinx-gallery's, checked against the script);
    * the checks that notebooks, includes and stored outputs match their sources.

    ``nox -s examples -- --gpu`` also trains every example script on CUDA (the distributed
    ones on all visible GPUs). pytest prints the time of each part at the end.
    """
    clock = Clock(session)
    files = files_marked("smoke", "includes")
    selected = ["-m", "smoke or includes", "-n", test_processes(), "--dist", "worksteal"]
    pytest = ["-m", "pytest", *files, *selected, *session.posargs]
    clock.python("examples, notebooks, tutorials", *pytest)
    clock.report()


@nox.session(venv_backend="none", default=False)
def tutorials(session: nox.Session) -> None:
    """Runs the tutorials at full scale (minutes each) and stores their pages, pictures and
    notebooks in docs/tutorials/, which the docs build uses: commit them.

    ``nox -s tutorials -- simsiam_digits`` reruns only the tutorials named.
    """
    stored = ROOT / "docs" / "tutorials"
    names = session.posargs or [path.stem for path in (ROOT / "tutorials").glob("*.py")]
    for name in names:  # without its checksum, sphinx-gallery runs a tutorial again
        (stored / f"{name}.py.md5").unlink(missing_ok=True)
    html = ROOT / "docs" / "_build" / "html"
    shutil.rmtree(html.parent, ignore_errors=True)
    # What each page says of its run: this command, the date, the hardware and versions.
    record = (
        "import json, sys, torch; from benchmarks.environment import describe_run; "
        "gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None; "
        "run = {**describe_run(), 'command': 'nox -s tutorials', 'gpu': gpu}; "
        "[open(f'docs/tutorials/{name}.run.json', 'w').write(json.dumps(run, indent=1)) "
        "for name in sys.argv[1:]]"
    )
    python(session, "-c", record, *names)
    build = ["-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "docs", str(html)]
    python(session, *build, LIGHTLY_MIN_RUN_TUTORIALS="1")


@nox.session(venv_backend="none", default=False)
def tune(session: nox.Session) -> None:
    """A tuning sweep of a method's tutorial (benchmarks/tune.py), e.g. ``nox -s tune -- dino
    --background``: each configuration of benchmarks/tuning/<method>.toml runs alone and is
    logged in benchmarks/results/tuning_log.jsonl as it ends; a stopped sweep continues where
    it stopped. ``nox -s tune -- dino --status`` prints what ran, best first."""
    if not session.posargs:
        session.error("Name a method: nox -s tune -- METHOD [--seeds N] [--status] [--background]")
    python(session, "-m", "benchmarks.tune", *session.posargs)


@nox.session(venv_backend="none", default=False)
def notebooks(session: nox.Session) -> None:
    """Writes the examples' notebooks (examples/notebooks/) from the example scripts."""
    python(session, str(ROOT / "examples" / "make_notebooks.py"))


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Builds the site offline, warnings as errors, then tests the built HTML, also in
    headless Chromium; prints how long each part took.

    ``nox -s docs -- --serve`` serves it on http://127.0.0.1:8000 with live reload instead.
    """
    html = ROOT / "docs" / "_build" / "html"
    if "--serve" in session.posargs:
        serve = ["--host", "127.0.0.1", "--port", "8000", "--ignore", str(html.parent)]
        python(session, "-m", "sphinx_autobuild", "docs", str(html), *serve)
        return
    shutil.rmtree(html.parent, ignore_errors=True)
    clock = Clock(session)
    build = ["-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "docs", str(html)]
    clock.python("docs build", *build)
    # One test process: the browser tests keep both cores busy (Chromium is several).
    tests = ["-m", "pytest", *files_marked("docs_build"), "-m", "docs_build", *session.posargs]
    clock.python("HTML and browser tests", *tests, LIGHTLY_MIN_DOCS_HTML=str(html))
    clock.report()


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on the code, sphinx-lint on the docs."""
    session.install("ruff>=0.6", "sphinx-lint>=1.0")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    checks = ["--enable", "all", "--disable", "line-too-long"]
    session.run("sphinx-lint", *checks, "--ignore", "docs/_build", "docs")  # not the built site


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (over an hour, not in CI): the tutorials with three seeds, the examples
    against lightly, the SimSiam step against the machine's peak. See benchmarks/README.md."""
    session.install(*TORCH)
    session.install("-e", ".[lightning,tutorials]", "-r", "benchmarks/requirements.txt")
    session.run("python", "-m", "benchmarks", *session.posargs)
