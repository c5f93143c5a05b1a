"""Whether bfloat16 mixed precision (``torch.autocast``) pays off on a device."""

from __future__ import annotations

import torch


def bf16_supported(device: str | torch.device) -> bool:
    """True where the hardware computes in bfloat16 natively, so that autocast speeds training up.

    CUDA GPUs that support bfloat16 (Ampere and newer), and CPUs with AVX512-BF16 or AMX
    instructions. Elsewhere bfloat16 autocast still runs but is emulated and slower than
    float32, so code should fall back to float32.
    """
    device_type = torch.device(device).type
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        # torch.cpu offers no public query for these instruction sets, and its private ones
        # are missing from some releases: without them, assume no native bf16.
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False
