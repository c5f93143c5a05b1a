"""What a benchmark ran on: command, date, hardware and library versions."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from lightly_min.harness.precision import bf16_supported

PACKAGES = (
    "torch",
    "torchvision",
    "lightly",
    "lightly_min",
    "mlxtend",
    "numpy",
    "pillow",
    "matplotlib",
)


def cpu_info() -> dict[str, Any]:
    """CPU model, logical cores, memory and the bf16-related instruction sets (Linux)."""
    model, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
    return {
        "cpu_model": model,
        "logical_cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "bf16_instructions": sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"}),
        "machine": platform.machine(),
    }


def versions() -> dict[str, str | None]:
    """Installed versions of Python and the packages the benchmarks use (None if missing)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def describe_run() -> dict[str, Any]:
    """The exact command, the date (UTC), hardware, versions and torch's CPU settings."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "command": shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]]),
        "python_executable": sys.executable,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hardware": cpu_info(),
        "versions": versions(),
        "torch_threads": torch.get_num_threads(),
        "bf16_supported": bf16_supported("cpu"),
        "load_average_at_start": list(load) if load else None,
    }
