"""--resume: a run killed mid-way (SIGKILL to the real process) continues from its last
checkpoint and ends with the same weights as a run that was never interrupted."""

import os
import re
import signal
import subprocess
import sys

import pytest
import torch
from examples_support import EXAMPLES, ROOT, epoch_losses, run, saved_weights

EPOCHS = 3


def command(example: str, output_dir: str, *extra: str) -> list[str]:
    args = ["--fake-data", "48", "--epochs", str(EPOCHS), "--batch-size", "8"]
    return [sys.executable, str(EXAMPLES / example), *args, "--num-workers", "0",
            "--output-dir", output_dir, *extra]  # fmt: skip


def kill_after_epoch(cmd: list[str], epoch: int, cwd) -> None:
    """Starts ``cmd`` and kills it and its child processes with SIGKILL once it has printed
    the line of ``epoch``."""
    environment = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        cmd, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True,  # its own process group: DDP's ranks too
    )  # fmt: skip
    try:
        for line in process.stdout:
            if line.startswith(f"epoch {epoch}/{EPOCHS} "):
                break
        else:
            pytest.fail(f"the run ended before epoch {epoch}: {cmd}")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()


def saved_epoch(checkpoint) -> int:
    """The number of finished epochs a checkpoint holds (Lightning counts from 0)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return state["epoch"] + (1 if "pytorch-lightning_version" in state else 0)


@pytest.mark.parametrize(
    "example, extra, checkpoint",
    [
        ("pytorch/simsiam.py", [], "checkpoint.pt"),
        ("pytorch_lightning/simclr.py", [], "checkpoints/last.ckpt"),
        ("pytorch_lightning_distributed/fastsiam.py", ["--devices", "2"], "checkpoints/last.ckpt"),
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
    epochs = [int(e) for e in re.findall(r"^epoch (\d+)/", resumed.stdout, re.MULTILINE)]
    assert epochs == list(range(done + 1, EPOCHS + 1)), resumed.stdout
    assert len(epoch_losses(resumed.stdout)) == EPOCHS - done

    expected = torch.load(saved_weights(unbroken.stdout, tmp_path), weights_only=True)
    actual = torch.load(saved_weights(resumed.stdout, tmp_path), weights_only=True)
    assert expected.keys() == actual.keys()
    different = [name for name in expected if not torch.equal(expected[name], actual[name])]
    assert not different, f"weights differ from the unbroken run: {different[:5]}"
