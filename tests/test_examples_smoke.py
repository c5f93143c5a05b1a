"""nox -s examples: every example runs at smoke scale, and says so in its run record.

Each example trains once, in its notebook (``examples/notebooks/<method>_<flavour>.ipynb``),
top to bottom in a Jupyter kernel (conftest.py's ``notebook_runs``). The notebook is the
script's code cell by cell (tests/test_notebooks.py fails where they differ) between an
install cell and ``main(<the smoke flags>)``, so this runs the script's code. The script
itself then runs as ``__main__`` in this process with ``--help``: its imports, definitions
and guard, up to parsing its flags. Programs that start the scripts run in ``nox -s tests``
(test_examples_behaviour, _input, _resume), and here the torchrun launch of
docs/distributed.rst. With ``--gpu`` every script also trains on CUDA, in a subprocess.

Every run is checked through ``OUTPUT_DIR/metrics.jsonl`` (never its printed output): its
epochs, finite losses, the collapse monitor against 1/sqrt(d) for the projection width d of
the trained model's checkpoint, weights that load into a CIFAR-stem ResNet-18, and held-out
accuracy; and the three flavours of a method agree on their settings.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import runpy
import sys
from pathlib import Path

import pytest
from examples_support import EXAMPLES, example_files, methods, of_kind, read_record, run
from examples_support import notebooks as load_generator

from lightly_min.harness.cli import smoke_args

generator = load_generator()
METHODS = methods()
SCRIPTS = example_files()
#: The flags whose values may differ between the flavours of a method.
LAUNCH_FLAGS = {"output_dir", "devices", "num_nodes", "strategy"}


def example_id(script: Path) -> str:
    return str(script.relative_to(EXAMPLES))


# ---- what a run record must show ---------------------------------------------------------


def projection_width(output_dir: Path, head: str = "projection_head.") -> int:
    """The output width of the trained model's projection head, read from the checkpoint
    that the run left (its last linear layer), not from anything the script reports."""
    import torch

    (path,) = [p for p in output_dir.glob("checkpoint.*") if p.suffix in (".pt", ".ckpt")]
    state = torch.load(path, map_location="cpu", weights_only=False)
    weights = state["state_dict"] if path.suffix == ".ckpt" else state["model"]
    linear = [w for k, w in weights.items() if k.startswith(head) and w.dim() == 2]
    return linear[-1].shape[0]


def cifar_resnet18():
    """A ResNet-18 with the CIFAR stem (3x3 first convolution, no max-pool) and no classifier."""
    import torchvision
    from torch import nn

    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool, resnet.fc = nn.Identity(), nn.Identity()
    return resnet


def check_record(output_dir: Path, cwd: Path, device: str = "cpu") -> dict:
    """Asserts what a finished smoke run's record must hold; returns its start line."""
    import torch

    record = read_record(output_dir)
    (start,) = of_kind(record, "start")
    assert start["device"] == device
    epochs = of_kind(record, "epoch")
    assert [line["epoch"] for line in epochs] == list(range(1, start["args"]["epochs"] + 1))
    if "teacher_entropy" in epochs[0]:  # DINO's monitors, bounded by its prototypes
        prototypes = projection_width(output_dir, "student_head.last_layer.")
        most = min(start["args"]["batch_size"], prototypes)
        for line in epochs:
            assert math.isfinite(line["loss"]), line
            assert 0 <= line["teacher_entropy"] <= math.log(prototypes) + 1e-4, line
            assert 1 <= line["prototypes_in_use"] <= most, line
            assert not any(key.endswith("_healthy") for key in line), line  # none has one
    else:
        healthy = 1 / math.sqrt(projection_width(output_dir))
        for line in epochs:
            assert math.isfinite(line["loss"]), line
            assert 0 <= line["z_std"] <= 1, line
            assert line["z_std_healthy"] == pytest.approx(healthy, rel=1e-6), line
    (final,) = of_kind(record, "final")
    weights = torch.load(cwd / final["weights"], map_location="cpu", weights_only=True)
    assert weights["conv1.weight"].shape == (64, 3, 3, 3)
    cifar_resnet18().load_state_dict(weights)  # strict: every weight, nothing else
    accuracy = final["evaluation"]  # noise images have labels, so the run evaluates
    assert set(accuracy) == {"knn", "linear_probe"}, final
    assert all(0 <= value <= 1 for value in accuracy.values()), final
    return start


# ---- the header shows the smoke run --------------------------------------------------------


def header_smoke_line(script: Path) -> str:
    """The command on the header's ``Smoke:`` line, with its continuation lines."""
    lines = script.read_text().split("\nimport ")[0].splitlines()
    (first,) = [i for i, line in enumerate(lines) if line.startswith("# Smoke:")]
    words = lines[first].removeprefix("# Smoke:").split()
    for line in lines[first + 1 :]:
        if not re.match(r"#\s{2,}\S", line) or re.match(r"#\s+[A-Z][a-z]+:\s", line):
            break
        words += line.removeprefix("#").split()
    return " ".join(words)


@pytest.mark.parametrize("script", SCRIPTS, ids=example_id)
def test_header_shows_the_smoke_run_that_ci_runs(script):
    expected = " ".join(["python", script.name, *smoke_args(generator.flavour(script))])
    assert header_smoke_line(script) == expected


# ---- the torchrun launch ------------------------------------------------------------------


@pytest.mark.smoke
@pytest.mark.part("example scripts")
def test_distributed_example_under_torchrun(tmp_path, gpus):
    """The torchrun launch that docs/distributed.rst shows, on one node with 2 CPU processes
    (or one process per GPU with --gpu)."""
    script = EXAMPLES / "pytorch_lightning_distributed" / "simclr.py"
    processes = gpus or 2
    torchrun = ["-m", "torch.distributed.run", "--nnodes", "1", f"--nproc-per-node={processes}"]
    arguments = on_devices(smoke_args("distributed"), processes)
    result = run([sys.executable, *torchrun, str(script), *arguments], cwd=tmp_path, gpu=gpus > 0)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (record,) = tmp_path.rglob("metrics.jsonl")
    start = check_record(record.parent, tmp_path, device="cuda" if gpus else "cpu")
    assert start["args"]["devices"] == processes
    assert start["global_batch"] == processes * start["args"]["batch_size"]


def on_devices(arguments: list[str], devices: int) -> list[str]:
    """Distributed smoke flags for ``devices`` processes, each with as many images as in
    the smoke run."""
    arguments = list(arguments)
    index = {flag: arguments.index(flag) + 1 for flag in ("--devices", "--fake-data")}
    per_process = int(arguments[index["--fake-data"]]) // int(arguments[index["--devices"]])
    arguments[index["--devices"]], arguments[index["--fake-data"]] = (
        str(devices),
        str(per_process * devices),
    )
    return arguments


# ---- each example trains in its notebook --------------------------------------------------


@pytest.mark.smoke
@pytest.mark.part("example notebooks")
@pytest.mark.parametrize("script", SCRIPTS, ids=example_id)
def test_example_trains_in_its_notebook(script, notebook_runs):
    executed = notebook_runs.run(generator.notebook_path(script))
    errors = [o for c in executed.notebook.cells for o in c.get("outputs", [])
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    start = check_record(executed.output_dir(), executed.folder)
    assert start["method"].lower() == script.stem
    processes = 2 if generator.flavour(script) == "distributed" else 1
    assert start["global_batch"] == processes * start["args"]["batch_size"]


@pytest.mark.smoke
@pytest.mark.part("example notebooks")
@pytest.mark.parametrize("method", METHODS)
def test_the_three_flavours_of_a_method_use_the_same_settings(method, notebook_runs):
    """Their notebooks' start lines: the same flags but how they are launched, the same
    optimiser settings per parameter group (learning rates per image of the global batch),
    the same parameters in each part of the model, the same transform."""
    scripts = [script for script in SCRIPTS if script.stem == method]
    starts = {}
    for script in scripts:
        executed = notebook_runs.run(generator.notebook_path(script))
        record = read_record(executed.output_dir())
        (starts[generator.flavour(script)],) = of_kind(record, "start")
    assert set(starts) == {"pytorch", "lightning", "distributed"}
    reference = starts.pop("pytorch")
    for flavour, start in starts.items():
        assert without(start["args"], LAUNCH_FLAGS) == without(reference["args"], LAUNCH_FLAGS)
        assert same_numbers(optimizer_settings(start), optimizer_settings(reference)), flavour
        assert start["parameters"] == reference["parameters"], flavour
        assert start["transform"] == reference["transform"], flavour


def without(settings: dict, names: set[str]) -> dict:
    return {name: value for name, value in settings.items() if name not in names}


def optimizer_settings(start: dict) -> list[dict]:
    """Each parameter group's settings, learning rates divided by the global batch."""
    groups = []
    for group in start["optimizer"]:
        group = dict(group)
        for name in ("lr", "initial_lr"):
            if name in group:
                group[name] = group[name] / start["global_batch"]
        groups.append(group)
    return groups


def same_numbers(a, b) -> bool:
    """Equal, floats up to rounding."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_numbers(x, y) for x, y in zip(a, b))
    return a == b


# ---- each script runs as a program ---------------------------------------------------------


@pytest.mark.smoke
@pytest.mark.part("example scripts")
@pytest.mark.parametrize("script", SCRIPTS, ids=example_id)
def test_example_script_runs_as_main(script, monkeypatch):
    """``python SCRIPT --help`` in this process: the module runs as ``__main__``, and its
    guard calls ``main()``, which parses the flags, prints their help and exits."""
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    output = io.StringIO()
    with contextlib.redirect_stdout(output), pytest.raises(SystemExit) as exit:
        runpy.run_path(str(script), run_name="__main__")
    assert exit.value.code in (0, None)
    assert output.getvalue().startswith("usage:") and "--fake-data" in output.getvalue()


@pytest.mark.smoke
@pytest.mark.part("example scripts")
@pytest.mark.parametrize("script", SCRIPTS, ids=example_id)
def test_example_script_trains_on_cuda(script, tmp_path, gpus):
    """With --gpu: the smoke run as a program on CUDA, the single-device flavours on GPU 0,
    the distributed one with one process per visible GPU."""
    if not gpus:
        pytest.skip("trains on CUDA only with --gpu (the notebooks train on the CPU)")
    arguments = smoke_args(generator.flavour(script))
    single = "--devices" not in arguments
    if not single:
        arguments = on_devices(arguments, gpus)
    visible = {"CUDA_VISIBLE_DEVICES": "0"} if single else {}
    result = run([sys.executable, str(script), *arguments], cwd=tmp_path, gpu=True, **visible)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (record,) = tmp_path.rglob("metrics.jsonl")
    check_record(record.parent, tmp_path, device="cuda")
