"""How a run ends when it does not end well: each case runs an example as a user would, as a
real process, and sends it a real signal, fills its disk or runs a second one beside it.

A run ended by SIGTERM or SIGINT exits with 128 + the signal's number and one line that says
how to continue; its last checkpoint is whole, and ``--resume`` ends with the weights of a run
that was never interrupted. Nothing a run writes is ever left half-written.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from examples_support import EXAMPLES, ROOT, final, of_kind, read_record, run

EPOCHS = 3

# Runs an example with the atomic saves of files named like sys.argv[1] (a glob) slowed down:
# the file is written, then the run waits while a marker file "saving" beside it exists (at
# most 30 s; the test deletes it to let the save go on) before renaming it into place, so
# that a signal can arrive in the middle of a save.
SLOW_SAVES = """
import runpy, sys, time
from pathlib import Path
import lightly_min.harness.lightning as lightning
import lightly_min.harness.output as output
import lightly_min.harness.run as run
write, pattern = output.atomic_write, sys.argv[1]
def slow(path, save):
    def slowly(file):
        save(file)
        if Path(path).match(pattern):
            marker = Path(path).parent / "saving"
            marker.touch()
            deadline = time.monotonic() + 30
            while marker.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    write(path, slowly)
for module in (output, run, lightning):  # each module's own name for it
    module.atomic_write = slow
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def slow_saves(pattern: str, command: list[str]) -> list[str]:
    return [sys.executable, "-c", SLOW_SAVES, pattern, *command[1:]]


# Runs an example whose loss becomes NaN at the third step.
NAN_AT_STEP_3 = """
import runpy, sys
import lightly_min.loss as loss
forward, calls = loss.NegativeCosineSimilarity.forward, [0]
def nan_later(self, x0, x1):
    calls[0] += 1
    value = forward(self, x0, x1)
    return value * float("nan") if calls[0] > 4 else value  # two calls per step
loss.NegativeCosineSimilarity.forward = nan_later
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def command(example: str, output_dir: Path, *extra: str, workers: int = 0) -> list[str]:
    return [sys.executable, str(EXAMPLES / example), "--fake-data", "32", "--epochs",
            str(EPOCHS), "--batch-size", "8", "--num-workers", str(workers), "--output-dir",
            str(output_dir), *extra]  # fmt: skip


def start(arguments: list[str], cwd: Path) -> subprocess.Popen:
    """Starts a run; its output goes to files in ``cwd`` (a pipe nobody reads would fill up
    and stop it). :func:`end` waits for it and returns what it wrote to stderr."""
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    log = open(cwd / f"stderr-{time.monotonic_ns()}.txt", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        arguments, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=log, text=True
    )
    process.log = log
    return process


def end(process: subprocess.Popen, timeout: float = 300) -> str:
    process.wait(timeout=timeout)
    process.log.seek(0)
    return process.log.read()


def wait_for(condition, process: subprocess.Popen, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {end(process)[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.05)


def epochs_recorded(output_dir: Path) -> list[int]:
    try:
        return [line["epoch"] for line in of_kind(read_record(output_dir), "epoch")]
    except (FileNotFoundError, ValueError):
        return []


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def weights(output_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(output_dir / Path(final(output_dir)["weights"]).name, weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    assert not [name for name in a if not torch.equal(a[name], b[name])]


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    """One uninterrupted run per example, with the settings the cases below use."""
    done = {}

    def of(example: str, *extra: str, workers: int = 0) -> dict:
        if (example, workers) not in done:
            folder = tmp_path_factory.mktemp("unbroken")
            result = run(command(example, folder / "out", *extra, workers=workers), cwd=folder)
            assert result.returncode == 0, result.stderr[-3000:]
            done[example, workers] = weights(folder / "out")
        return done[example, workers]

    return of


# With DataLoader workers, as a real run has them.
CASES = [
    ("pytorch/simsiam.py", [], signal.SIGTERM, 2),
    ("pytorch_lightning/byol.py", [], signal.SIGTERM, 2),
    ("pytorch_lightning_distributed/simsiam.py", ["--devices", "2"], signal.SIGTERM, 2),
    ("pytorch/byol.py", [], signal.SIGINT, 2),
    ("pytorch_lightning/simsiam.py", [], signal.SIGINT, 2),
]


@pytest.mark.parametrize("example, extra, signum, workers", CASES, ids=lambda c: str(c))
def test_a_signal_between_epochs_ends_the_run_honestly_and_it_resumes_exactly(
    example, extra, signum, workers, tmp_path, unbroken
):
    output_dir = tmp_path / "out"
    process = start(command(example, output_dir, *extra, workers=workers), cwd=tmp_path)
    wait_for(lambda: 1 in epochs_recorded(output_dir), process, "epoch 1")
    process.send_signal(signum)
    stderr = end(process)
    assert process.returncode == 128 + signum, stderr[-3000:]
    (line,) = error_lines(stderr)
    assert signal.Signals(signum).name in line and "--resume" in line
    assert "Traceback" not in stderr
    assert not list(output_dir.glob("*_backbone.pt"))  # not counted as finished

    resumed = run(command(example, output_dir, *extra, "--resume", workers=workers), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert epochs_recorded(output_dir) == list(range(1, EPOCHS + 1))
    assert_same_weights(weights(output_dir), unbroken(example, *extra, workers=workers))


@pytest.mark.parametrize(
    "example, extra",
    [("pytorch/simsiam.py", []), ("pytorch_lightning/byol.py", [])],
)
def test_a_signal_during_a_save_leaves_the_previous_checkpoint_whole(
    example, extra, tmp_path, unbroken
):
    output_dir = tmp_path / "out"
    arguments = slow_saves("checkpoint.*", command(example, output_dir, *extra))
    process = start(arguments, cwd=tmp_path)
    wait_for(lambda: (output_dir / "saving").exists(), process, "the first save")
    process.send_signal(signal.SIGTERM)  # epoch 1's checkpoint is written but not yet in place
    stderr = end(process)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert len(error_lines(stderr)) == 1
    checkpoint = next(output_dir.glob("checkpoint.*"), None)
    assert checkpoint is None  # the first save never landed: no checkpoint, not a broken one
    (output_dir / "saving").unlink()

    again = run(command(example, output_dir, *extra), cwd=tmp_path)  # nothing to resume
    assert again.returncode == 0, again.stderr[-3000:]
    assert not list(output_dir.glob(".*.tmp"))  # the killed save's temporary file is gone
    assert_same_weights(weights(output_dir), unbroken(example, *extra))


def tmpfs(folder: Path, size: str) -> Path:
    """A tmpfs of ``size`` mounted at ``folder`` (needs root; the test skips without it)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    return folder


@pytest.fixture
def small_disk(tmp_path):
    folder = tmpfs(tmp_path / "small", "40m")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def other_filesystem(tmp_path):
    folder = tmpfs(tmp_path / "other_fs", "1g")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("example", ["pytorch/simclr.py", "pytorch_lightning/simsiam.py"])
def test_a_full_disk_ends_in_one_line(example, small_disk, tmp_path):
    result = run(command(example, small_disk / "out"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "No space left on device" in line and "Cannot write" in line
    assert not list((small_disk / "out").glob(".*.tmp"))  # no half-written file stays


def test_a_lightning_checkpoint_on_another_filesystem_is_replaced_whole(other_filesystem, tmp_path):
    """The output folder on another file system than the temporary folder: a kill during
    epoch 2's save leaves epoch 1's checkpoint whole, and nothing behind in the temporary
    folder."""
    output_dir = other_filesystem / "out"
    example = "pytorch_lightning/simclr.py"
    arguments = slow_saves("checkpoint.*", command(example, output_dir))
    process = start(arguments, cwd=tmp_path)
    wait_for(lambda: (output_dir / "saving").exists(), process, "the first save")
    (output_dir / "saving").unlink()
    wait_for(lambda: (output_dir / "saving").exists(), process, "the second save")
    process.kill()
    end(process)
    state = torch.load(output_dir / "checkpoint.ckpt", map_location="cpu", weights_only=False)
    assert state["epoch"] == 0  # epoch 1's (Lightning counts from 0), whole
    resumed = run(command(example, output_dir, "--resume"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert epochs_recorded(output_dir) == list(range(1, EPOCHS + 1))


@pytest.mark.parametrize("example", ["pytorch/simclr.py", "pytorch_lightning/fastsiam.py"])
def test_a_kill_while_saving_the_final_weights_leaves_a_run_that_resume_finishes(
    example, tmp_path, unbroken
):
    """No truncated weights file that would make the run look finished: the weights are there
    whole, or not at all, and --resume then saves them from the last checkpoint."""
    output_dir = tmp_path / "out"
    process = start(slow_saves("*_backbone.pt", command(example, output_dir)), cwd=tmp_path)
    wait_for(lambda: (output_dir / "saving").exists(), process, "the weights' save")
    process.kill()
    end(process)
    assert not list(output_dir.glob("*_backbone.pt"))
    (output_dir / "saving").unlink()
    resumed = run(command(example, output_dir, "--resume"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_weights(weights(output_dir), unbroken(example))


def test_two_runs_into_one_folder_the_second_stops_at_once(tmp_path):
    output_dir = tmp_path / "out"
    first = start(command("pytorch/fastsiam.py", output_dir), cwd=tmp_path)
    wait_for(lambda: (output_dir / "metrics.jsonl").exists(), first, "the first run's start")
    second = run(command("pytorch_lightning/fastsiam.py", output_dir), cwd=tmp_path)
    assert second.returncode == 1
    (line,) = error_lines(second.stderr)
    assert f"Another run (process {first.pid}) is writing to" in line
    end(first, timeout=600)
    assert first.returncode == 0
    assert final(output_dir)["evaluation"] is not None


def test_a_moved_output_folder_resumes_from_its_own_checkpoint(tmp_path, unbroken):
    example = "pytorch_lightning/byol.py"
    output_dir = tmp_path / "first"
    process = start(command(example, output_dir), cwd=tmp_path)
    wait_for(lambda: 2 in epochs_recorded(output_dir), process, "epoch 2")
    process.send_signal(signal.SIGTERM)
    end(process)
    moved = tmp_path / "moved"
    output_dir.rename(moved)
    resumed = run(command(example, moved, "--resume"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert sorted(p.name for p in moved.glob("*.ckpt")) == ["checkpoint.ckpt"]
    assert epochs_recorded(moved) == list(range(1, EPOCHS + 1))
    assert_same_weights(weights(moved), unbroken(example))


@pytest.mark.parametrize("example", ["pytorch/simsiam.py", "pytorch_lightning/simsiam.py"])
def test_a_diverged_run_stops_and_saves_nothing_of_it(example, tmp_path):
    output_dir = tmp_path / "out"
    arguments = [sys.executable, "-c", NAN_AT_STEP_3, *command(example, output_dir)[1:]]
    result = run(arguments, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "the loss is nan at step 3 of epoch 1" in line and "diverged" in line
    assert not list(output_dir.glob("*_backbone.pt")) and not list(output_dir.glob("checkpoint.*"))


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 half a checkpoint"], ids=["empty", "broken"])
def test_a_broken_checkpoint_with_resume_ends_in_one_line(content, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "checkpoint.pt").write_bytes(content)
    result = run(command("pytorch/simclr.py", tmp_path / "out", "--resume"), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "Cannot read the checkpoint" in line and "Traceback" not in result.stderr
