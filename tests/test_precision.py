from pathlib import Path

import pytest
import torch

from lightly_min.harness.precision import bf16_supported

CPUINFO = Path("/proc/cpuinfo")


@pytest.mark.skipif(not CPUINFO.exists(), reason="reads the CPU's flags from /proc/cpuinfo")
def test_cpu_bf16_support_follows_the_cpu_flags():
    flags = set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            flags |= set(line.split(":", 1)[1].split())
    assert bf16_supported("cpu") == bool({"avx512_bf16", "amx_tile"} & flags)


def test_cuda_without_a_gpu_and_other_devices_fall_back_to_float32():
    if not torch.cuda.is_available():
        assert bf16_supported("cuda") is False
    assert bf16_supported("meta") is False


def test_torch_releases_without_the_private_cpu_queries_fall_back_to_float32(monkeypatch):
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, name, raising=False)
    assert bf16_supported("cpu") is False
