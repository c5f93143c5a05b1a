"""The tuning sweep (benchmarks/tune.py): runs each configuration of a method's tutorial as its
own process, logs every run as it ends, and continues after a kill where it stopped.

The tutorial here is a small one of the test's own, on the tutorials' digits flow at smoke
scale: a linear student with a momentum teacher, and a knob or two."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import tune

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = """
import copy
import time
import torch
from torch import nn
from torchvision import transforms as T
from lightly_min.models.utils import update_momentum
from lightly_min.transforms.multi_view_transform import MultiViewTransform
from lightly_min.tutorials import MNIST_NORMALIZE, DigitsTutorial

tutorial = DigitsTutorial("tiny", "Tiny", epochs=3, batch_size=32)
knobs = tutorial.knobs(width=16, lr=0.1, sleep=0.0)
view = T.Compose([T.RandomResizedCrop(32, scale=(0.5, 1.0)), T.ToTensor(),
                  T.Normalize(**MNIST_NORMALIZE)])
student = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, knobs.width))
teacher = copy.deepcopy(student).requires_grad_(False)
tutorial.measure_baselines(student)
optimizer = torch.optim.SGD(student.parameters(), knobs.lr)
for epoch in tutorial.training(student, teacher=teacher):
    time.sleep(knobs.sleep)
    for (x0, x1), _ in tutorial.train_loader(MultiViewTransform([view, view])):
        update_momentum(student, teacher, 0.9)
        z0, z1 = student(x0), teacher(x1)
        loss = -nn.functional.cosine_similarity(z0, z1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tutorial.record(loss, z0, width_used=z0.std(dim=0).gt(0).sum())
results = tutorial.report(student)
"""


def sweep_file(tmp_path: Path, configs: str, name: str) -> Path:
    tutorial = tmp_path / "tiny_digits.py"
    tutorial.write_text(TUTORIAL)
    path = tmp_path / f"{name}.toml"
    path.write_text(f'tutorial = "{tutorial}"\n{configs}')
    return path


def command(method: str, toml: Path, log: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.tune", method, "--file", str(toml),
            "--log", str(log), "--smoke", *extra]  # fmt: skip


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_killed_sweep_continues_where_it_stopped(tmp_path):
    method = "sweeptest-kill"
    configs = (
        "[base]\nlr = 0.2\n"  # every configuration starts from it
        '[configs.a]\nnote = "as is"\n[configs.b]\nknobs = { width = 8, sleep = 1.0 }\n'
    )
    toml, log = sweep_file(tmp_path, configs, method), tmp_path / "log.jsonl"
    earlier = {"name": "a", "method": method, "seed": 0, "status": "finished", "knn": 0.5}
    log.write_text(json.dumps(earlier) + "\n")  # a ran before
    sweep = subprocess.Popen(command(method, toml, log), cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not children(sweep.pid):  # b runs
        assert time.monotonic() < deadline and sweep.poll() is None
        time.sleep(0.2)
    time.sleep(1)
    (tutorial,) = children(sweep.pid)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    deadline = time.monotonic() + 10
    while alive(tutorial):  # the tutorial dies with its sweep
        assert time.monotonic() < deadline, "the killed sweep's tutorial still runs"
        time.sleep(0.1)
    assert [r["name"] for r in records(log)] == ["a"]  # b was not logged as a run

    again = subprocess.run(command(method, toml, log), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "a seed 0: in the log already, skipped" in again.stdout
    a, b = records(log)
    assert a == earlier and b["name"] == "b"  # a was not run again
    assert b["status"] == "finished" and b["changes"] == {"width": 8, "sleep": 1.0}
    assert b["knobs"] == {"width": 8, "lr": 0.2, "sleep": 1.0} and b["seed"] == 0
    assert b["epochs"] == 2  # a smoke run's
    for key in ("knn", "linear_probe", "teacher_knn", "teacher_linear_probe"):
        assert len(b[f"{key}_per_epoch"]) == 2, key
        assert 0 <= b[key] <= 1, key
    # smoke: 100 held-out digits, so every accuracy is a whole number of percent
    assert abs(b["knn"] * 100 - round(b["knn"] * 100)) < 1e-6
    assert b["knn_per_epoch"][-1] == b["knn"]  # the last epoch's network is the trained one
    assert all(0 <= n <= 8 for n in b["monitors_per_epoch"]["width_used"])  # width 8
    assert b["wall_seconds"] > 2 and "commit" in b  # two epochs of 1 s sleep


def test_a_stopped_sweep_logs_the_run_it_cut_short_and_runs_it_again(tmp_path):
    method = "sweeptest-stop"
    toml = sweep_file(tmp_path, "[configs.a]\nknobs = { sleep = 1.5 }\n", method)
    log = tmp_path / "log.jsonl"
    progress = tune.OUTPUT / f"{method}-a-seed0.out"
    progress.unlink(missing_ok=True)  # an earlier run's output would read as this run's
    sweep = subprocess.Popen(command(method, toml, log), cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while "epoch 1/2" not in (progress.read_text() if progress.exists() else ""):
        assert time.monotonic() < deadline and sweep.poll() is None
        time.sleep(0.2)
    sweep.send_signal(signal.SIGTERM)
    out, _ = sweep.communicate(timeout=60)
    assert sweep.returncode == 143 and "the same command continues" in out
    (stopped,) = records(log)
    assert stopped["status"] == "stopped" and 1 <= stopped["epochs"] <= 2
    again = subprocess.run(command(method, toml, log), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "skipped" not in again.stdout
    assert [r["status"] for r in records(log)] == ["stopped", "finished"]


def test_a_run_that_fails_or_outlasts_its_limit_is_logged_and_not_rerun(tmp_path):
    method = "sweeptest-fail"
    configs = (
        "[configs.slow]\ntimeout_minutes = 0.05\nknobs = { sleep = 60.0 }\n"  # stopped at 3 s
        "[configs.typo]\nknobs = { no_such_knob = 1 }\n"
    )
    toml, log = sweep_file(tmp_path, configs, method), tmp_path / "log.jsonl"
    first = subprocess.run(command(method, toml, log), cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 1  # some run did not finish
    slow, typo = records(log)
    assert slow["status"] == "timeout" and slow["epochs"] == 0
    assert typo["status"] == "failed" and "no_such_knob" in typo["error"]
    assert "does not have" in typo["error"]
    again = subprocess.run(command(method, toml, log), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count("in the log already, skipped") == 2
    assert len(records(log)) == 2


def test_status_lists_best_first_and_runs_nothing(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    hand = [
        {"name": "low", "method": "m", "seed": 0, "status": "finished", "knn": 0.81},
        {"name": "high", "method": "m", "seed": 0, "status": "finished", "knn": 0.90},
        {"name": "high", "method": "m", "seed": 1, "status": "finished", "knn": 0.92},
        {"name": "broken", "method": "m", "seed": 0, "status": "failed"},
        {"name": "other", "method": "n", "seed": 0, "status": "finished", "knn": 0.99},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in hand))
    before = log.read_text()
    toml = sweep_file(tmp_path, "[configs.low]\n", "m")
    assert tune.main(["m", "--file", str(toml), "--log", str(log), "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["high", "low", "broken"]
    assert "0.910 ± 0.014" in lines[1]  # mean and sample std of 0.90 and 0.92
    assert log.read_text() == before


def test_more_seeds_go_to_the_best_configurations(tmp_path):
    sweep = {"method": "m", "file": tmp_path / "m.toml", "configs": {"a": {}, "b": {}, "c": {}}}
    logged = [
        {"name": "a", "method": "m", "seed": 0, "status": "finished", "knn": 0.80},
        {"name": "b", "method": "m", "seed": 0, "status": "finished", "knn": 0.90},
        {"name": "c", "method": "m", "seed": 0, "status": "finished", "knn": 0.85},
    ]
    assert tune.plan(sweep, logged, 1, None, 1) == [("a", 0), ("b", 0), ("c", 0)]
    assert tune.plan(sweep, logged, 2, None, 2) == [("b", 0), ("b", 1), ("c", 0), ("c", 1)]
    assert tune.plan(sweep, logged, 2, ["a"], 1) == [("a", 0), ("a", 1)]


def test_a_changed_configuration_needs_a_new_name(tmp_path):
    log = tmp_path / "log.jsonl"
    logged = {"name": "a", "method": "m", "seed": 0, "status": "finished", "knn": 0.8,
              "changes": {}, "source": "benchmarks.tune"}  # fmt: skip
    log.write_text(json.dumps(logged) + "\n")
    toml = sweep_file(tmp_path, "[configs.a]\nknobs = { lr = 0.5 }\n", "m")
    done = subprocess.run(command("m", toml, log), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "give the new setting a new name" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_next_starts_afresh(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"name": "a", "method": "m", "seed": 0}\n{"name": "b", "meth')
    tune.append_record({"name": "c", "method": "m", "seed": 0}, log)
    assert [r["name"] for r in tune.read_log(log)] == ["a", "c"]
    assert log.read_text().endswith('"meth\n{"name": "c", "method": "m", "seed": 0}\n')


def test_the_benchmarks_tuning_table_shows_how_each_run_ended():
    from benchmarks.report import tuning_table

    logged = [
        {"name": "a", "method": "dino", "seed": 0, "status": "finished", "note": "as is",
         "knn_per_epoch": [0.8, 0.82], "random_init_knn": 0.86},
        {"name": "a", "method": "dino", "seed": 1, "status": "timeout", "note": "as is",
         "knn_per_epoch": [0.79]},
        {"name": "b", "method": "dino", "seed": 0, "status": "failed", "note": "typo",
         "knn_per_epoch": []},
    ]  # fmt: skip
    header, rows = tuning_table(logged)
    assert header[-2:] == ["random init kNN", "final kNN"]
    assert rows == [
        ["a", "DINO", "as is", "2", "0.860", "0.820"],
        ["a, seed 1", "DINO", "as is", "1", "—", "0.790 (timeout in epoch 2)"],
        ["b", "DINO", "typo", "0", "—", "failed"],
    ]


def test_where_a_method_stands_is_read_from_its_best_finished_run():
    from benchmarks.report import standing

    run = {"method": "dino", "status": "finished", "seed": 0, "epochs": 30,
           "random_init_knn": 0.86, "pixels_knn": 0.93}  # fmt: skip
    logged = [
        {**run, "name": "a", "knn": 0.80},
        {**run, "name": "b", "knn": 0.89},
        {**run, "name": "c", "status": "timeout", "knn_per_epoch": [0.99]},  # not finished
        {**run, "name": "d", "method": "byol", "knn": 0.99},  # another method
    ]
    sentence = standing("dino", {}, logged)
    assert sentence.startswith("DINO does not learn on the digits yet")  # 0.89 < 0.86 + 0.05
    assert "of its 3 tuning configurations so far, b (seed 0, 30 epochs)" in sentence
    assert "held-out kNN 0.890, above the same network at random initialisation (0.860)" in sentence
    assert "below the raw pixels (0.930)" in sentence
    learned = standing("dino", {}, [*logged, {**run, "name": "e", "knn": 0.95}])
    assert "clears the learning bar" in learned and "above the raw pixels" in learned
    assert standing("dino", {}, []) == "DINO has not been measured on the digits yet."


def test_a_configuration_whose_tutorial_defaults_changed_needs_a_new_name(tmp_path):
    toml = sweep_file(tmp_path, "[configs.a]\n", "m")
    sweep = tune.read_sweep("m", toml)
    assert tune.tutorial_knobs(sweep["tutorial"]) == {"width": 16, "lr": 0.1, "sleep": 0.0}
    logged = {"name": "a", "method": "m", "seed": 0, "status": "finished", "changes": {},
              "source": "benchmarks.tune", "knobs": {"width": 16, "lr": 0.1}}  # fmt: skip
    tune.check_unchanged([logged], sweep)  # sleep is a knob added since: at its default
    logged["knobs"]["width"] = 32  # the tutorial's default was 32 when a ran
    with pytest.raises(tune.SweepError, match="width 32 then, 16 now"):
        tune.check_unchanged([logged], sweep)


def test_a_method_with_a_learning_row_stands_on_its_three_seeds():
    from benchmarks.report import standing

    summary = {
        "seeds": [0, 1, 2], "trained_knn": {"mean": 0.915, "std": 0.008},
        "random_init_knn": {"mean": 0.861, "std": 0.019}, "pixels_knn": {"mean": 0.934},
    }  # fmt: skip
    results = {"learning": {"methods": {"dino": {"summary": summary}}}}
    assert standing("dino", results, []) == (
        "On the digits, DINO's held-out kNN accuracy is 0.915 ± 0.008 over 3 seeds, +5.4 "
        "points from the same network at random initialisation (0.861 ± 0.019), and below "
        "the raw pixels (0.934)."
    )
