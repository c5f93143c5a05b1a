"""The benchmarks measure the code that ships: the examples, as they are, and the tutorials."""

import sys

import pytest
import torch
from examples_support import EXAMPLES, methods, run

from benchmarks import learning, report, roofline, speed


def test_the_benchmarks_cover_every_method_with_its_example_and_tutorial():
    assert learning.methods() == methods()
    for method in methods():
        assert speed.example(method) == EXAMPLES / "pytorch" / f"{method}.py"
        assert learning.tutorial(method).is_file()


@pytest.mark.parametrize("method", methods())
def test_the_lightly_variant_switches_only_the_building_blocks(method):
    """The speed run's lightly variant runs the example's own file with each shared module
    answered by lightly's: every lightly_min module the example imports is either one of them
    or lightly_min's own (the harness, the collapse monitors), which stay: lightly has none."""
    imports = speed.lightly_min_imports(speed.example(method))
    shared = {f"lightly_min.{module}" for module in speed.SHARED_MODULES}
    assert imports & shared, imports
    assert imports - shared <= HARNESS, imports - shared


HARNESS = {"lightly_min.harness", "lightly_min.harness.lightning", "lightly_min.monitors"}


def test_the_speed_run_changes_only_data_length_batch_loader_and_output(tmp_path):
    command = speed.command(speed.example("simclr"), tmp_path, tmp_path / "out", 64, 2)
    assert command[:2] == [sys.executable, str(speed.example("simclr"))]
    options = {word for word in command[2:] if word.startswith("--")}
    assert options == {"--data-dir", "--epochs", "--batch-size", "--num-workers", "--output-dir"}


def test_the_roofline_step_uses_the_examples_model(tmp_path):
    """The model the roofline times has the parameters and buffers of the example's own
    checkpoint: same backbone, same heads."""
    script = roofline.EXAMPLE
    args = ["--fake-data", "16", "--epochs", "1", "--batch-size", "8", "--num-workers", "0"]
    result = run([sys.executable, str(script), *args, "--output-dir", "out"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)["model"]
    ours = roofline.example_model().state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in saved.items()
    }


def test_summaries_are_mean_and_sample_std_over_seeds():
    assert learning.mean_std([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0}
    assert learning.mean_std([0.5]) == {"mean": 0.5, "std": 0.0}
    runs = [
        {"seed": seed, "epochs": 1, "minutes": 2.0, "wall_seconds": 130.0,
         "trained": {"knn": knn, "linear_probe": 0.9},
         "random_init": {"knn": 0.8, "linear_probe": 0.8},
         "pixels": {"knn": 0.93, "linear_probe": 0.89}, "history": {"knn": [0.8, knn]}}
        for seed, knn in [(0, 0.94), (1, 0.96)]
    ]  # fmt: skip
    summary = learning.summarise(runs)
    assert summary["trained_knn"]["mean"] == pytest.approx(0.95)
    assert summary["knn_gain_over_pixels"]["mean"] == pytest.approx(0.02)
    assert summary["knn_per_epoch"][1]["std"] == pytest.approx(0.0141421, rel=1e-4)
    header, rows = report.learning_table(
        {"learning": {"methods": {"simclr": {"summary": summary}}}}
    )
    assert rows[0][0] == "SimCLR" and rows[0][4] == "0.950 ± 0.014" and rows[0][-1] == "2.0 ± 1.4"


def test_label_efficiency_is_summarised_per_count_and_tabled_and_plotted(tmp_path):
    def curve(one, every):  # accuracies with 1 and with all labels per class
        return {"1": {"knn": one, "linear_probe": one}, "all": {"knn": every, "linear_probe": 0.9}}

    runs = [
        {"seed": seed, "epochs": 1, "minutes": 2.0, "wall_seconds": 130.0,
         "trained": {"knn": 0.9, "linear_probe": 0.9},
         "random_init": {"knn": 0.8, "linear_probe": 0.8},
         "pixels": {"knn": 0.93, "linear_probe": 0.89}, "history": {"knn": [0.8, 0.9]},
         "label_efficiency": {"trained": curve(one, 0.95), "random_init": curve(0.3, 0.8),
                              "pixels": curve(0.2, 0.93)}}
        for seed, one in [(0, 0.5), (1, 0.7)]
    ]  # fmt: skip
    summary = learning.summarise(runs)
    one = summary["label_efficiency"]["trained"]["1"]["knn"]
    assert one["mean"] == pytest.approx(0.6) and one["std"] == pytest.approx(0.1414214)
    results = {"learning": {"methods": {"byol": {"summary": summary}}}}
    header, rows = report.label_efficiency_table(results, "knn")
    assert header == ["features", "1 / class", "all / class"]
    assert rows == [
        ["BYOL, trained", "0.600 ± 0.141", "0.950 ± 0.000"],
        ["BYOL, random init", "0.300 ± 0.000", "0.800 ± 0.000"],
        ["raw pixels", "0.200 ± 0.000", "0.930 ± 0.000"],
    ]
    methods = results["learning"]["methods"]
    assert report.few_labels_below_pixels(methods, "knn") == "none"  # 0.60 > 0.20, 0.95 > 0.93
    # With all labels, the linear probe of the trained network ties the pixels' (0.9 and 0.9).
    assert report.few_labels_below_pixels(methods, "linear_probe") == "BYOL (all per class)"
    runs[0]["label_efficiency"]["trained"]["1"]["knn"] = 0.1
    methods["byol"]["summary"] = learning.summarise([runs[0]])  # 0.1 alone: below 0.2
    assert report.few_labels_below_pixels(methods, "knn") == "BYOL (1 per class)"
    written = report.write_report(results, tmp_path)
    assert tmp_path / "label_efficiency.png" in written
    assert (tmp_path / "label_efficiency.png").stat().st_size > 1000


def test_a_stored_run_is_reused_only_for_its_seed_and_the_current_source(tmp_path, monkeypatch):
    import hashlib
    import json

    source = tmp_path / "toy_digits.py"
    source.write_text("print('toy')\n")
    monkeypatch.setattr(learning, "tutorial", lambda method: source)
    monkeypatch.setattr(learning, "STORED", tmp_path)
    monkeypatch.setattr(learning, "ROOT", tmp_path)
    (tmp_path / "toy_digits.run_data.json").write_text(json.dumps({"seed": 0, "minutes": 1.0}))
    (tmp_path / "toy_digits.py.md5").write_text(hashlib.md5(source.read_bytes()).hexdigest())
    run = learning.stored_run("toy", 0)
    assert run["reused_from"] == "toy_digits.run_data.json" and run["wall_seconds"] is None
    assert learning.stored_run("toy", 1) is None  # another seed
    source.write_text("print('changed')\n")
    assert learning.stored_run("toy", 0) is None  # the stored run is of an older source


def test_run_method_runs_the_other_seeds_and_takes_the_stored_one_last(monkeypatch, tmp_path):
    def fake_run(method, seed, knn):
        return {
            "seed": seed, "epochs": 1, "minutes": 2.0, "history": {"knn": [0.8, knn]},
            "trained": {"knn": knn, "linear_probe": 0.9},
            "random_init": {"knn": 0.8, "linear_probe": 0.8},
            "pixels": {"knn": 0.93, "linear_probe": 0.89},
        }  # fmt: skip

    ran, asked = [], []

    def stored(method, seed):
        asked.append(seed)
        return {**fake_run(method, seed, 0.95), "wall_seconds": None, "reused_from": "x"}

    def run_tutorial(method, seed, scratch, smoke, threads):
        ran.append(seed)
        return {**fake_run(method, seed, 0.97), "minutes": 3.0, "wall_seconds": 10.0}

    monkeypatch.setattr(learning, "stored_run", lambda m, s: stored(m, s) if s == 0 else None)
    monkeypatch.setattr(learning, "run_tutorial", run_tutorial)
    monkeypatch.delenv("LIGHTLY_MIN_SEED", raising=False)
    entry = learning.run_method("toy", [0, 1, 2], tmp_path, False, lambda line: None)
    assert sorted(ran) == [1, 2] and asked == [0]
    assert [run["seed"] for run in entry["runs"]] == [0, 1, 2]
    assert entry["summary"]["wall_seconds"] == {"mean": 10.0, "std": 0.0}  # the reused: untimed
    assert entry["summary"]["minutes"] == {"mean": 3.0, "std": 0.0}  # nor its minutes counted
    assert entry["summary"]["trained_knn"]["mean"] == pytest.approx((0.95 + 0.97 * 2) / 3)
