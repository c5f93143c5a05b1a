"""--resume: a run killed mid-way (SIGKILL to the real process) continues from its last
checkpoint and ends with the same weights as a run that was never interrupted, and its run
record lists each epoch once."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from examples_support import EXAMPLES, ROOT, epoch_losses, final, of_kind, read_record, run

EPOCHS = 3


def command(example: str, output_dir: str, *extra: str) -> list[str]:
    args = ["--fake-data", "48", "--epochs", str(EPOCHS), "--batch-size", "8"]
    return [sys.executable, str(EXAMPLES / example), *args, "--num-workers", "0",
            "--output-dir", output_dir, *extra]  # fmt: skip


def recorded_epochs(output_dir) -> list[int]:
    try:
        return [line["epoch"] for line in of_kind(read_record(output_dir), "epoch")]
    except (FileNotFoundError, ValueError):  # not written yet
        return []


def kill_after_epoch(cmd: list[str], epoch: int, cwd) -> None:
    """Starts ``cmd`` and kills it and its child processes with SIGKILL once its run record
    has the line of ``epoch``."""
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        cmd, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: DDP's ranks too
    )  # fmt: skip
    output_dir = cwd / cmd[cmd.index("--output-dir") + 1]
    try:
        while epoch not in recorded_epochs(output_dir):
            if process.poll() is not None:
                pytest.fail(f"the run ended before epoch {epoch}: {cmd}")
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def saved_epoch(checkpoint) -> int:
    """The number of finished epochs a checkpoint holds (Lightning counts from 0)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return state["epoch"] + (1 if "pytorch-lightning_version" in state else 0)


@pytest.mark.parametrize(
    "example, extra, checkpoint",
    [
        ("pytorch/simsiam.py", [], "checkpoint.pt"),
        ("pytorch_lightning/simclr.py", [], "checkpoint.ckpt"),
        ("pytorch_lightning_distributed/fastsiam.py", ["--devices", "2"], "checkpoint.ckpt"),
    ],
)
def test_a_killed_run_resumes_and_ends_as_an_unbroken_run(example, extra, checkpoint, tmp_path):
    unbroken = run(command(example, "unbroken", *extra), cwd=tmp_path)
    assert unbroken.returncode == 0, unbroken.stderr[-3000:]

    kill_after_epoch(command(example, "broken", *extra), epoch=2, cwd=tmp_path)
    assert not list((tmp_path / "broken").glob("*_backbone.pt"))  # it did not finish
    done = saved_epoch(tmp_path / "broken" / checkpoint)
    assert done in (1, 2)  # epoch 2's line came before or after its checkpoint

    resumed = run(command(example, "broken", *extra, "--resume"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # The record keeps the epochs before the checkpoint, and each later one once.
    assert recorded_epochs(tmp_path / "broken") == list(range(1, EPOCHS + 1))
    assert epoch_losses(tmp_path / "broken")[:done] == epoch_losses(tmp_path / "unbroken")[:done]

    expected = torch.load(tmp_path / final(tmp_path / "unbroken")["weights"], weights_only=True)
    actual = torch.load(tmp_path / final(tmp_path / "broken")["weights"], weights_only=True)
    assert expected.keys() == actual.keys()
    different = [name for name in expected if not torch.equal(expected[name], actual[name])]
    assert not different, f"weights differ from the unbroken run: {different[:5]}"


def test_a_checkpoint_of_another_method_is_refused(tmp_path):
    """SimSiam's checkpoint, resumed by the FastSiam script: one line, nothing trained."""
    simsiam = command("pytorch/simsiam.py", "run")
    kill_after_epoch(simsiam, epoch=1, cwd=tmp_path)
    resumed = run(command("pytorch/fastsiam.py", "run", "--resume"), cwd=tmp_path)
    assert resumed.returncode == 1
    errors = [line for line in resumed.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "written by SimSiam, not FastSiam" in errors[0], resumed.stderr
    assert not list((tmp_path / "run").glob("*_backbone.pt"))


def test_a_checkpoint_of_another_input_size_is_refused(tmp_path):
    """Crops of 32 px, resumed with --input-size 48: one line naming the size to resume with."""
    kill_after_epoch(command("pytorch/simsiam.py", "run"), epoch=1, cwd=tmp_path)
    resumed = run(command("pytorch/simsiam.py", "run", "--resume", "--input-size", "48"),
                  cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 1
    errors = [line for line in resumed.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "--input-size 32" in errors[0], resumed.stderr
