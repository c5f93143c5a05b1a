"""pytest options, the Jupyter kernel that runs the notebooks, and the table of parts.

``--gpu`` (``nox -s examples -- --gpu``) also trains every example script on CUDA: the
single-device ones on GPU 0, the distributed ones with one process per visible GPU. Without
it the example tests hide every GPU; the notebooks always run on the CPU.

The notebooks run in one Jupyter kernel per test process (``notebook_runs``), one after the
other, each once per session: starting a kernel and importing torch and Lightning costs
more than a smoke run. Before each notebook the kernel forgets the previous one's names
(``%reset -f``) and moves to a folder of its own; modules stay imported, and global
settings (torch's seed, its default dtype) stay as the previous notebook left them.

At the end pytest prints how long each part took (``part`` marker, see :func:`part_of`).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gpu",
        action="store_true",
        help="also train the example scripts on CUDA (all visible GPUs for the distributed "
        "ones); by default the example tests hide every GPU and run on the CPU",
    )


@pytest.fixture(scope="session")
def gpus(request: pytest.FixtureRequest) -> int:
    """The number of GPUs the example runs may use: 0 unless --gpu is given."""
    if not request.config.getoption("--gpu"):
        return 0
    import torch

    if not torch.cuda.is_available():
        pytest.fail("--gpu needs a CUDA GPU, and torch sees none (torch.cuda.is_available()).")
    return torch.cuda.device_count()


# ---- notebooks in a kernel ---------------------------------------------------------------


class NotebookRun:
    """One executed notebook: the folder it ran in (its working directory), and the
    notebook with its outputs."""

    def __init__(self, folder: Path):
        self.folder = folder

    @property
    def notebook(self):
        import nbformat

        return nbformat.read(self.folder / "executed.ipynb", as_version=4)

    def output_dir(self) -> Path:
        """The folder of the run record (``metrics.jsonl``) that the notebook wrote."""
        (record,) = self.folder.rglob("metrics.jsonl")
        return record.parent


class NotebookRuns:
    """Runs notebooks top to bottom in a Jupyter kernel, each once per pytest session
    however pytest-xdist shares the tests out: the first test process to ask for a
    notebook runs it, in its own kernel, while the others wait for it and then read its
    folder. A notebook that failed fails every test that asks for it.

    Each kernel sees no GPU, has the clone's lightly_min importable and
    ``LIGHTLY_MIN_SMOKE=1`` (the tutorials' smoke scale), and computes on one thread:
    pytest-xdist runs a kernel per core, and Lightning's ``ddp_notebook`` forks the kernel,
    whose children hang in OpenMP (libgomp is not fork-safe) once it has used more threads.
    Its matplotlib backend is Agg: the tutorials' figures are made but not rendered to
    PNG (a fifth of a tutorial's smoke run); ``nox -s tutorials`` renders them at full
    scale, and tests/test_plotting.py checks what they show.
    """

    def __init__(self, folder: Path):
        self.folder = folder  # shared by the session's test processes
        self.kernel = None
        self.variables: list[str] = []  # set for the last notebook: unset for the next

    def start_kernel(self) -> None:
        from jupyter_client.manager import KernelManager

        environment = {
            **os.environ, "CUDA_VISIBLE_DEVICES": "", "LIGHTLY_MIN_SMOKE": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }  # fmt: skip
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        sockets = str(self.folder / f"kernel-{worker}")  # local sockets, not TCP
        self.kernel = KernelManager(kernel_name="python3", transport="ipc", ip=sockets)
        self.kernel.start_kernel(env=environment, cwd=str(self.folder))

    def run(self, path: Path, **environment: str) -> NotebookRun:
        """The run of the notebook at ``path`` with the environment variables
        ``environment`` set (run now, or earlier by this or another test process)."""
        folder = self.folder / path.stem
        with open(self.folder / f"{path.stem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not (folder / "executed.ipynb").exists():
                self._execute(path, folder, environment)
        failure = folder / "error.txt"
        if failure.exists():
            raise NotebookError(f"{path.name} failed:\n{failure.read_text()}")
        return NotebookRun(folder)

    def _execute(self, path: Path, folder: Path, environment: dict[str, str]) -> None:
        import nbformat
        from nbclient import NotebookClient

        if self.kernel is None or not self.kernel.is_alive():
            self.start_kernel()
        folder.mkdir(exist_ok=True)
        notebook = nbformat.read(path, as_version=4)
        prelude = (  # forget the previous notebook; this one's folder and variables
            "%reset -f\nimport os\n"
            f"for name in {self.variables!r}:\n    os.environ.pop(name, None)\n"
            f"os.chdir({str(folder)!r})\nos.environ.update({environment!r})"
        )
        self.variables = list(environment)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(prelude))
        client = NotebookClient(notebook, km=self.kernel, timeout=600)
        try:
            client.execute()
        except Exception as error:  # a cell's error (CellExecutionError), or a dead kernel
            (folder / "error.txt").write_text(f"{type(error).__name__}: {error}")
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
        notebook.cells.pop(0)
        nbformat.write(notebook, folder / "executed.ipynb")  # with its outputs, to look at

    def close(self) -> None:
        if self.kernel is not None and self.kernel.is_alive():
            self.kernel.shutdown_kernel(now=True)


class NotebookError(AssertionError):
    """A notebook's cell failed (the message holds the cell and its traceback)."""


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory: pytest.TempPathFactory):
    """The session's :class:`NotebookRuns`, in a folder that all its test processes share."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    folder = shared / "notebook-runs"
    folder.mkdir(exist_ok=True)
    runs = NotebookRuns(folder)
    yield runs
    runs.close()


# ---- how long each part took -------------------------------------------------------------


def part_of(item: pytest.Item) -> str:
    """The part of the job a test belongs to: its ``part`` marker, else "browser tests" for
    tests in Chromium, "built HTML" for other checks of the built site, "other checks"."""
    marker = item.get_closest_marker("part")
    if marker is not None:
        return marker.args[0]
    if {"page", "browser"} & set(getattr(item, "fixturenames", ())):
        return "browser tests"
    if item.get_closest_marker("docs_build") is not None:
        return "built HTML"
    return "other checks"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.user_properties.append(("part", part_of(item)))


_seconds: dict[str, float] = defaultdict(float)
_tests: dict[str, set[str]] = defaultdict(set)
_started = time.perf_counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    part = dict(report.user_properties).get("part", "other checks")
    _seconds[part] += report.duration  # setup, call and teardown
    _tests[part].add(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _seconds or hasattr(config, "workerinput"):  # only pytest-xdist's controller
        return
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT") or config.getoption("numprocesses", 0)
    write = terminalreporter.write_line
    terminalreporter.section("time per part")
    write(f"{'part':24} {'tests':>5} {'seconds':>8}   (test time, summed over processes)")
    for part in sorted(_seconds, key=_seconds.get, reverse=True):
        write(f"{part:24} {len(_tests[part]):5} {_seconds[part]:8.1f}")
    write(f"{'total':24} {sum(map(len, _tests.values())):5} {sum(_seconds.values()):8.1f}")
    wall = time.perf_counter() - _started
    write(f"wall clock {wall:.1f} s with {workers or 1} test process(es), {os.cpu_count()} cores")
