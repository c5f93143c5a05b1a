"""A run that cannot go on raises RunStopped: a program ends with its one line and status 1
(tests/test_examples_ending.py), and a notebook shows the line and keeps its kernel (here:
a diverged run and a full disk, one after the other, in one Jupyter kernel)."""

from __future__ import annotations

import nbformat
from examples_support import EXAMPLES, ROOT
from nbclient import NotebookClient

SMOKE = '"--fake-data", "32", "--epochs", "2", "--batch-size", "8", "--num-workers", "0"'
CELLS = [
    # The example's code, as its notebook holds it, without calling main().
    f'import runpy\nexample = runpy.run_path("{EXAMPLES / "pytorch" / "simsiam.py"}")',
    # A loss that turns NaN at the third step.
    "import lightly_min.loss as loss\n"
    "forward, calls = loss.NegativeCosineSimilarity.forward, [0]\n"
    "def nan_later(self, x0, x1):\n"
    "    calls[0] += 1\n"
    "    value = forward(self, x0, x1)\n"
    '    return value * float("nan") if calls[0] > 4 else value  # two calls per step\n'
    "loss.NegativeCosineSimilarity.forward = nan_later\n"
    f'example["main"]([{SMOKE}, "--output-dir", "diverged"])',
    # A disk that is full when the first checkpoint is written.
    "import errno, os\n"
    "loss.NegativeCosineSimilarity.forward = forward\n"
    "def full(fd):\n"
    '    raise OSError(errno.ENOSPC, "No space left on device")\n'
    "fsync, os.fsync = os.fsync, full\n"
    f'example["main"]([{SMOKE}, "--output-dir", "full"])',
    'os.fsync = fsync\nprint("the kernel goes on")',
]


def test_a_notebook_shows_the_line_of_a_stopped_run_and_keeps_its_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the kernel inherits the environment
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    client.execute()
    errors = [
        [o for o in cell.outputs if o.output_type == "error"] for cell in notebook.cells
    ]  # fmt: skip
    assert not errors[0] and not errors[3]
    (diverged,), (full,) = errors[1], errors[2]
    assert diverged.ename == full.ename == "RunStopped"
    (line,) = diverged.traceback  # the line alone, no traceback
    assert line.startswith("error: the loss is nan at step 3 of epoch 1") and "diverged" in line
    (line,) = full.traceback
    assert line.startswith("error: Cannot write") and "No space left on device" in line
    printed = "".join(o.get("text", "") for o in notebook.cells[3].outputs)
    assert printed == "the kernel goes on\n"  # the same kernel, still running
    assert not list((tmp_path / "diverged").glob("*_backbone.pt"))
