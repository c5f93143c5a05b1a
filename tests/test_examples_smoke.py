"""nox -s examples: every example a docs page includes runs as its header's smoke command.

On the CPU by default; ``nox -s examples -- --gpu`` runs them on CUDA (see conftest.py). The
same session runs tests/test_docs_includes.py, which fails on an example that no page includes
or an include of a missing file.
"""

import math
import time

import pytest
import torch
from examples_support import (
    EXAMPLES,
    Z_STD,
    epoch_losses,
    held_out_accuracy,
    literalincludes,
    run,
    saved_weights,
    smoke_command,
)

pytestmark = pytest.mark.smoke

INCLUDED = sorted({target for _, target in literalincludes() if target.is_relative_to(EXAMPLES)})


def on_gpus(command: list[str], gpus: int) -> list[str]:
    """The command with one process per visible GPU, where it names --devices, and enough
    noise images for every process to get batches."""
    command = list(command)
    if gpus and "--devices" in command:
        command[command.index("--devices") + 1] = str(gpus)
        images = command.index("--fake-data") + 1
        command[images] = str(int(command[images]) * gpus)
    return command


def assert_ran_on_cuda(output: str) -> None:
    """PyTorch examples name their device; Lightning reports whether it used the GPU."""
    assert "on cuda" in output or "GPU available: True (cuda), used: True" in output, output


@pytest.mark.parametrize("example", INCLUDED, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_smoke_run(example, tmp_path, gpus):
    command = on_gpus(smoke_command(example), gpus)
    start = time.perf_counter()
    result = run(command, cwd=tmp_path, gpu=gpus > 0)
    seconds = time.perf_counter() - start
    print(f"{example.relative_to(EXAMPLES)}: {seconds:.1f} s")
    output = result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if gpus:
        assert_ran_on_cuda(output)
    losses = epoch_losses(result.stdout)
    assert losses and all(math.isfinite(loss) for loss in losses), result.stdout[-2000:]
    # The collapse monitor, next to 1/sqrt(d) of the method's projection width d.
    for z_std, healthy in Z_STD.findall(result.stdout):
        assert 0 <= float(z_std) <= 1
        widths = (128, 256, 512, 1024, 2048)  # healthy is 1/sqrt(d) for d-dimensional outputs
        assert any(healthy == f"{width**-0.5:.4f}" for width in widths), healthy
    assert Z_STD.findall(result.stdout), result.stdout[-2000:]
    weights = saved_weights(result.stdout, tmp_path)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert state["conv1.weight"].shape == (64, 3, 3, 3)  # the CIFAR-stem ResNet-18
    accuracy = held_out_accuracy(result.stdout)  # noise images have labels, so it evaluates
    assert accuracy is not None and all(0 <= value <= 1 for value in accuracy)


def test_distributed_example_under_torchrun(tmp_path, gpus):
    """The torchrun launch that docs/distributed.rst shows, on one node with 2 CPU processes
    (or one process per GPU with --gpu)."""
    example = EXAMPLES / "pytorch_lightning_distributed" / "simclr.py"
    processes = str(gpus or 2)
    torchrun = ["-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", processes]
    smoke = on_gpus(smoke_command(example), gpus)
    result = run([smoke[0], *torchrun, *smoke[1:]], cwd=tmp_path, gpu=gpus > 0)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if gpus:
        assert_ran_on_cuda(result.stdout + result.stderr)
    assert len(epoch_losses(result.stdout)) == 1
    assert saved_weights(result.stdout, tmp_path).is_file()
