"""nox -s examples: every example a docs page includes runs as its header's smoke command.

The same session runs tests/test_docs_includes.py, which fails on an example that no page
includes or an include of a missing file.
"""

import time

import pytest
import torch
from examples_support import (
    EXAMPLES,
    epoch_losses,
    literalincludes,
    run,
    saved_weights,
    smoke_command,
)

pytestmark = pytest.mark.smoke

INCLUDED = sorted({target for _, target in literalincludes() if target.is_relative_to(EXAMPLES)})


@pytest.mark.parametrize("example", INCLUDED, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_smoke_run(example, tmp_path):
    command = smoke_command(example)
    start = time.perf_counter()
    result = run(command, cwd=tmp_path)
    seconds = time.perf_counter() - start
    print(f"{example.relative_to(EXAMPLES)}: {seconds:.1f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    losses = epoch_losses(result.stdout)
    assert losses and all(torch.isfinite(torch.tensor(losses))), result.stdout[-2000:]
    weights = saved_weights(result.stdout, tmp_path)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert state["conv1.weight"].shape == (64, 3, 3, 3)  # the CIFAR-stem ResNet-18
    assert "kNN accuracy on the test split" in result.stdout


def test_distributed_example_under_torchrun(tmp_path):
    """The torchrun launch that docs/distributed.rst shows, on one node with 2 CPU processes."""
    example = EXAMPLES / "pytorch_lightning_distributed" / "simclr.py"
    torchrun = ["-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2"]
    smoke = smoke_command(example)
    result = run([smoke[0], *torchrun, *smoke[1:]], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(epoch_losses(result.stdout)) == 1
    assert saved_weights(result.stdout, tmp_path).is_file()
