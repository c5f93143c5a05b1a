"""How close the SimSiam example's training step comes to this machine's peak arithmetic.

The step is the example's own: its ``SimSiam`` model class and ``training_step``, imported from
``examples/pytorch/simsiam.py``, on the CIFAR-stem ResNet-18 that the example builds, with
the example's loss, SGD step, channels-last layout and bf16 autocast (where supported), on a
fixed batch of random 32 px images (no data loading). ``torch.utils.flop_counter`` counts the
floating-point operations of one forward and backward pass; the achieved rate is that count
over the measured time per step. The peak is a large matrix multiplication of the same
precision, measured the same way.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.learning import ROOT
from lightly_min.harness.precision import bf16_supported
from lightly_min.loss import NegativeCosineSimilarity

EXAMPLE = ROOT / "examples" / "pytorch" / "simsiam.py"


def example_module() -> Any:
    """examples/pytorch/simsiam.py as a module (its ``main()`` does not run)."""
    spec = importlib.util.spec_from_file_location("simsiam_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_model() -> nn.Module:
    """The example's model, on the backbone its ``main()`` builds (compared with the example's
    own checkpoint in tests/test_benchmarks.py)."""
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()
    return example_module().SimSiam(resnet).to(memory_format=torch.channels_last)


def seconds_per_call(function: Callable[[], Any], warmup: int, calls: int) -> float:
    for _ in range(warmup):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def matmul_peak(dtype: torch.dtype, size: int = 2048, calls: int = 10) -> float:
    """FLOP/s of a ``size`` x ``size`` matrix product in ``dtype`` (2 size^3 operations)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    return 2 * size**3 / seconds_per_call(lambda: a @ b, warmup=3, calls=calls)


def simsiam_step(batch_size: int = 128, steps: int = 10) -> dict[str, Any]:
    """FLOPs and time of the example's training step at ``batch_size``."""
    torch.manual_seed(0)
    model, criterion = example_model(), NegativeCosineSimilarity()
    training_step = example_module().training_step  # the example's own loss step
    optimizer = torch.optim.SGD(model.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
    x0, x1 = torch.randn(2, batch_size, 3, 32, 32)
    use_bf16 = bf16_supported("cpu")

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            loss, _ = training_step(model, criterion, x0, x1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    seconds = seconds_per_call(step, warmup=2, calls=steps)
    flops = counter.get_total_flops()
    return {
        "batch_size": batch_size,
        "precision": "bf16" if use_bf16 else "fp32",
        "flops_per_step": flops,
        "seconds_per_step": seconds,
        "achieved_flops": flops / seconds,
        "images_per_second": batch_size / seconds,
    }


def run(batch_size: int, steps: int) -> dict[str, Any]:
    step = simsiam_step(batch_size, steps)
    peaks = {"bf16": matmul_peak(torch.bfloat16), "fp32": matmul_peak(torch.float32)}
    return {
        "step": step,
        "matmul_peak_flops": peaks,
        "fraction_of_peak": step["achieved_flops"] / peaks[step["precision"]],
        "threads": torch.get_num_threads(),
    }
