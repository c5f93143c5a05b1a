"""Tables, figures and plots from ``results.json``: for ``results.md`` and for the docs.

Every table is returned as ``(header, rows)`` of plain strings, so the same numbers reach
``results.md`` (:func:`write_report`) and the docs' Benchmarks page (its Sphinx extension
``docs/_ext/benchmark_results.py`` imports this module). Nothing here needs more than the
standard library, except the plots (matplotlib, imported when drawing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NAMES = {"simsiam": "SimSiam", "fastsiam": "FastSiam", "simclr": "SimCLR"}
Table = tuple[list[str], list[list[str]]]


def pm(stats: dict[str, float], scale: float = 1.0, digits: int = 3) -> str:
    """``mean ± std`` of a ``{"mean", "std"}`` dict."""
    return f"{stats['mean'] * scale:.{digits}f} ± {stats['std'] * scale:.{digits}f}"


def trained(learning: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The methods of the learning part that have at least one finished run."""
    return {m: e for m, e in learning.get("methods", {}).items() if "summary" in e}


def learning_table(learning: dict[str, Any]) -> Table:
    """Per method: random-init, final and best kNN (mean ± std over seeds), gain, time."""
    header = ["method", "seeds", "epochs", "random init kNN", "random init, data BN"]
    header += ["final kNN", "best epoch kNN", "gain (points)", "gain ≥ 5", "s / run"]
    rows = []
    for method, entry in trained(learning).items():
        s = entry["summary"]
        rows.append(
            [
                NAMES[method],
                str(len(s["seeds"])),
                str(entry["recipe"]["epochs"]),
                pm(s["random_init_knn"]),
                pm(s["random_init_data_bn_knn"]),
                pm(s["final_knn"]),
                pm(s["best_epoch_knn"]),
                pm(s["gain_over_random_init"], 100, 1),
                "yes" if s["target_met"] else "no",
                f"{s['wall_seconds_per_run']['mean']:.0f}",
            ]
        )
    return header, rows


def epochs_table(learning: dict[str, Any]) -> Table:
    """kNN accuracy (mean ± std) after each epoch; epoch 0 is the random initialisation."""
    methods = trained(learning)
    epochs = max((len(e["summary"]["knn_per_epoch"]["mean"]) for e in methods.values()), default=0)
    rows = []
    for epoch in range(epochs + 1):
        row = [str(epoch)]
        for entry in methods.values():
            s = entry["summary"]
            curve = s["knn_per_epoch"]
            if epoch == 0:
                row.append(pm(s["random_init_knn"]))
            elif epoch <= len(curve["mean"]):
                row.append(pm({"mean": curve["mean"][epoch - 1], "std": curve["std"][epoch - 1]}))
            else:
                row.append("")
        rows.append(row)
    return ["epoch", *(NAMES[m] for m in methods)], rows


#: Recipe settings that a method does not use (shown as "-" in the recipes table).
UNUSED = {
    "simsiam": {"temperature"},
    "fastsiam": {"temperature"},
    "simclr": {"pred_hidden_dim", "pred_lr_factor"},
}


def recipes_table(learning: dict[str, Any]) -> Table:
    """Every setting of each method's recipe, one row per setting (transform settings too)."""
    methods = trained(learning)
    flat: dict[str, dict[str, str]] = {}
    for method, entry in methods.items():
        recipe = {k: v for k, v in entry["recipe"].items() if k not in ("method", "transform")}
        recipe.update({f"transform: {k}": v for k, v in entry["recipe"]["transform"].items()})
        for key, value in recipe.items():
            if isinstance(value, dict):  # e.g. normalize: "mean [...], std [...]"
                value = ", ".join(f"{k} {json.dumps(v)}" for k, v in value.items())
            shown = value if isinstance(value, str) else json.dumps(value)
            shown = "-" if key in UNUSED[method] else shown
            flat.setdefault(key, {})[method] = shown
    rows = [[key, *(values.get(m, "") for m in methods)] for key, values in flat.items()]
    return ["setting", *(NAMES[m] for m in methods)], rows


def precision_table(results: dict[str, Any]) -> Table:
    """Final kNN of the bf16 run (learning part) and of the fp32 run, same seed and recipe.

    Training times are not compared here: the speed part measures them without the kNN
    evaluations in between (see :func:`variants_table`)."""
    checks = results.get("precision", {}).get("methods", {})
    learned = results.get("learning", {}).get("methods", {})
    header = ["method", "seed", "final kNN bf16", "final kNN fp32", "difference (points)"]
    rows = []
    for method, check in checks.items():
        fp32 = check["fp32"]
        runs = learned.get(method, {}).get("runs", [])
        bf16 = next((r for r in runs if r["seed"] == fp32["seed"]), None)
        if bf16 is None:  # no bf16 run of that seed to compare with
            continue
        bf16_knn, fp32_knn = bf16["knn_per_epoch"][-1], fp32["knn_per_epoch"][-1]
        rows.append(
            [
                NAMES[method],
                str(fp32["seed"]),
                f"{bf16_knn:.3f}",
                f"{fp32_knn:.3f}",
                f"{(bf16_knn - fp32_knn) * 100:+.1f}",
            ]
        )
    return header, rows


def memory(measured: dict[str, Any]) -> str:
    """Peak memory as ``process + workers`` MiB."""
    return f"{measured['peak_rss_mib']:.0f} + {measured['workers_peak_pss_mib']:.0f}"


def training_speed_table(speed: dict[str, Any]) -> Table:
    """Training images/s and peak memory, lightly_min (as the examples) vs lightly (fp32)."""
    header = ["method", "lightly_min img/s", "lightly img/s", "ratio"]
    header += ["lightly_min peak MiB", "lightly peak MiB"]
    rows = [
        [
            NAMES[e["method"]],
            f"{e['lightly_min']['images_per_second']:.1f}",
            f"{e['lightly']['images_per_second']:.1f}",
            f"{e['throughput_ratio']:.2f}x",
            memory(e["lightly_min"]),
            memory(e["lightly"]),
        ]
        for e in speed.get("training", [])
    ]
    return header, rows


def variants_table(speed: dict[str, Any]) -> Table:
    """SimSiam under other settings: workers and precision of lightly_min, lightly in bf16."""
    rows = [
        [
            v["library"],
            str(v["num_workers"]),
            "bf16 + channels-last" if v["bf16"] else "float32",
            f"{v['images_per_second']:.1f}",
            memory(v),
        ]
        for v in speed.get("variants", [])
    ]
    return ["library", "DataLoader workers", "precision", "img/s", "peak MiB"], rows


def transforms_table(speed: dict[str, Any]) -> Table:
    """Transform throughput (images/s, all views of an image count once), both libraries."""
    rows = [
        [
            t["transform"],
            str(t["image_size"]),
            f"{t['images_per_second']['lightly_min']:.0f}",
            f"{t['images_per_second']['lightly']:.0f}",
            f"{t['ratio']:.2f}x",
        ]
        for t in speed.get("transforms", [])
    ]
    return ["transform", "px", "lightly_min img/s", "lightly img/s", "ratio"], rows


TABLES = {
    "learning": lambda r: learning_table(r.get("learning", {})),
    "epochs": lambda r: epochs_table(r.get("learning", {})),
    "recipes": lambda r: recipes_table(r.get("learning", {})),
    "precision": precision_table,
    "training-speed": lambda r: training_speed_table(r.get("speed", {})),
    "variants": lambda r: variants_table(r.get("speed", {})),
    "transforms": lambda r: transforms_table(r.get("speed", {})),
}


def environment_items(results: dict[str, Any]) -> list[str]:
    """One line per part: command, date, duration, hardware, versions."""
    items = []
    for part in ("learning", "precision", "speed"):
        run = results.get(part, {}).get("run")
        if not run:
            continue
        hw, versions = run["hardware"], run["versions"]
        minutes = results[part].get("wall_seconds", 0) / 60
        items.append(
            f"{part}: {run['command']} on {run['date']}, {minutes:.0f} min; "
            f"{hw['cpu_model']}, {hw['logical_cores']} cores, {hw['memory_gib']} GiB, "
            f"bf16 {'supported' if run['bf16_supported'] else 'not supported'}; "
            + ", ".join(f"{name} {version}" for name, version in versions.items() if version)
        )
    return items


def figures(results: dict[str, Any]) -> dict[str, str]:
    """Single numbers that prose quotes (the docs' ``:bench:`` role), by name.

    ``pixel_knn``, ``train_images``, ``test_images``, ``knn_k``; per method ``<m>_gain``
    (points); the speed part's ``speed_batch_size`` and ``speed_workers``; and the lowest
    ``min_speedup`` and ``min_transform_ratio``.
    """
    learning, speed = results.get("learning", {}), results.get("speed", {})
    found: dict[str, str] = {}
    if "pixel_knn" in learning:
        found["pixel_knn"] = f"{learning['pixel_knn']:.3f}"
        found["train_images"] = f"{learning['data']['train_images']:,}"
        found["test_images"] = f"{learning['data']['test_images']:,}"
        found["knn_k"] = str(learning["knn"]["k"])
    for method, entry in trained(learning).items():
        s = entry["summary"]
        found[f"{method}_gain"] = f"{s['gain_over_random_init']['mean'] * 100:.1f}"
    if speed.get("settings"):
        found["speed_batch_size"] = str(speed["settings"]["batch_size"])
        found["speed_workers"] = str(speed["settings"]["num_workers"])
    if speed.get("training"):
        lowest = min(e["throughput_ratio"] for e in speed["training"])
        found["min_speedup"] = f"{lowest:.2f}x"
    if speed.get("transforms"):
        found["min_transform_ratio"] = f"{min(t['ratio'] for t in speed['transforms']):.2f}x"
    return found


def markdown(table: Table) -> list[str]:
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def section(title: str, intro: str, table: Table) -> list[str]:
    """A Markdown section, or nothing when the table has no rows."""
    return [f"## {title}", "", intro, "", *markdown(table)] if table[1] else []


def results_markdown(results: dict[str, Any]) -> str:
    """The whole of ``results.md``."""
    learning, speed = results.get("learning", {}), results.get("speed", {})
    lines = ["# lightly_min benchmarks", ""]
    lines += ["Generated by `benchmarks/report.py` from `results.json`; do not edit by hand.", ""]
    if trained(learning):
        knn = learning["knn"]
        lines += section(
            "Learning on digits",
            f"{learning['data']['train_images']} training digits, "
            f"{learning['data']['test_images']} held out ({learning['data']['split']}). kNN "
            f"with k = {knn['k']}, t = {knn['t']} on the backbone's L2-normalised features. "
            f"kNN on raw pixels: **{learning['pixel_knn']:.3f}**. Mean ± standard deviation "
            "over seeds. Gain: final minus random-init kNN of the same seed (target: 5 points). "
            "*Random init, data BN*: the untrained backbone with BatchNorm statistics of the "
            "training digits (information only).",
            learning_table(learning),
        )
        lines += ["kNN accuracy after each epoch (epoch 0: random initialisation):", ""]
        lines += markdown(epochs_table(learning))
        lines += ["Recipes (see `recipes.py`):", "", *markdown(recipes_table(learning))]
    lines += section(
        "bf16 against float32",
        "Same seed and recipe; the bf16 run is the learning part's.",
        precision_table(results),
    )
    if speed.get("settings"):
        s = speed["settings"]
        lines += section(
            "Training speed: lightly_min (as the examples) vs lightly",
            f"CIFAR-stem ResNet-18, 32 px digits, batch {s['batch_size']}, "
            f"{s['num_workers']} DataLoader workers, {s['images']} images per epoch, whole "
            f"epochs after {s['warmup_batches']} warm-up batches, best of {s['repeats']} "
            "alternating repeat(s). lightly_min with bf16 autocast and channels-last (as the "
            "examples, where supported), lightly in float32 (as lightly's examples). Peak "
            "memory: the training process's RSS high-water mark + the largest total PSS of its "
            "DataLoader workers.",
            training_speed_table(speed),
        )
        lines += section("SimSiam, other settings", "Same batch.", variants_table(speed))
        lines += section(
            "Transform throughput",
            "Images per second, one thread, best of the repeats.",
            transforms_table(speed),
        )
    items = environment_items(results)
    lines += ["## Environment", "", *(f"- `{item}`" for item in items), ""] if items else []
    return "\n".join(lines)


def plot_knn(learning: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    methods = trained(learning)
    figure, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.4), sharey=True)
    axes = [axes] if len(methods) == 1 else list(axes)
    for axis, (method, entry) in zip(axes, methods.items()):
        s = entry["summary"]
        mean = [s["random_init_knn"]["mean"], *s["knn_per_epoch"]["mean"]]
        std = [s["random_init_knn"]["std"], *s["knn_per_epoch"]["std"]]
        epochs = list(range(len(mean)))
        low = [m - d for m, d in zip(mean, std)]
        high = [m + d for m, d in zip(mean, std)]
        axis.fill_between(epochs, low, high, alpha=0.25, color="C0")
        axis.plot(epochs, mean, "o-", ms=3, color="C0", label=f"{NAMES[method]} (mean ± std)")
        axis.axhline(s["random_init_knn"]["mean"], color="C3", ls="--", label="random init")
        axis.axhline(
            s["random_init_data_bn_knn"]["mean"], color="C3", ls=":", label="random init, data BN"
        )
        axis.axhline(learning["pixel_knn"], color="0.4", ls="-.", label="raw pixels")
        seeds = len(s["seeds"])
        axis.set_title(f"{NAMES[method]}, {seeds} seed{'s' if seeds > 1 else ''}")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel(f"held-out kNN accuracy (k={learning['knn']['k']})")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_throughput(speed: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = speed["training"]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    positions = range(len(entries))
    ours = [e["lightly_min"]["images_per_second"] for e in entries]
    theirs = [e["lightly"]["images_per_second"] for e in entries]
    axis.bar([p - 0.2 for p in positions], ours, 0.4, label="lightly_min (as the examples)")
    axis.bar([p + 0.2 for p in positions], theirs, 0.4, label="lightly (float32)")
    for p, value, entry in zip(positions, ours, entries):
        axis.annotate(
            f"{entry['throughput_ratio']:.2f}x", (p - 0.2, value), ha="center", va="bottom"
        )
    axis.set_xticks(list(positions), [NAMES[e["method"]] for e in entries])
    axis.set_ylabel("training images / s")
    settings = speed["settings"]
    axis.set_title(
        f"CIFAR-stem ResNet-18, 32 px, batch {settings['batch_size']}, "
        f"{settings['num_workers']} workers",
        fontsize=10,
    )
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def tuning_table(records: Sequence[dict[str, Any]]) -> Table:
    """The tuning log (one record per run tried), one row per run."""
    header = ["run", "method", "seed", "changes to the tuning base", "random init"]
    header += ["kNN per epoch", "gain", "s", "note"]
    rows = []
    for r in records:
        curve = r["knn_per_epoch"]
        rows.append(
            [
                r["name"],
                NAMES[r["method"]],
                str(r["seed"]),
                f"`{json.dumps(r['changes'])}`",
                f"{r['random_init_knn']:.3f}",
                " ".join(f"{v:.3f}" for v in curve),
                f"{curve[-1] - r['random_init_knn']:+.3f}",
                f"{r['wall_seconds']:.0f}",
                r.get("note", ""),
            ]
        )
    return header, rows


def tuning_summary_table(records: Sequence[dict[str, Any]]) -> Table:
    """The tuning log in brief: what each run changed (its note), epochs, final kNN, gain."""
    rows = [
        [
            r["name"],
            NAMES[r["method"]],
            r.get("note", ""),
            str(len(r["knn_per_epoch"])),
            f"{r['random_init_knn']:.3f}",
            f"{r['knn_per_epoch'][-1]:.3f}",
            f"{(r['knn_per_epoch'][-1] - r['random_init_knn']) * 100:+.1f}",
        ]
        for r in records
    ]
    header = ["run", "method", "what changed", "epochs", "random init", "final kNN"]
    return [*header, "gain (points)"], rows


def read_tuning_log(path: Path) -> list[dict[str, Any]]:
    """The records of ``tuning_log.jsonl``, one per configuration tried."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_report(results: dict[str, Any], folder: Path) -> list[Path]:
    """Writes ``results.md``, ``knn_per_epoch.png``, ``throughput.png`` and, when the tuning
    log exists, ``tuning_log.md`` into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.md"]
    written[0].write_text(results_markdown(results))
    if trained(results.get("learning", {})):
        plot_knn(results["learning"], folder / "knn_per_epoch.png")
        written.append(folder / "knn_per_epoch.png")
    if results.get("speed", {}).get("training"):
        plot_throughput(results["speed"], folder / "throughput.png")
        written.append(folder / "throughput.png")
    log_path = folder / "tuning_log.jsonl"
    if log_path.exists():
        records = read_tuning_log(log_path)
        intro = [
            "# Tuning log: every configuration tried on the digits",
            "",
            "Changes are relative to `recipes.tuning_base` (ResNet-18, 28 px, 10 epochs, batch "
            "128, SGD lr 0.06 x batch/256, no flips / colour / blur, min_scale 0.2); the full "
            "recipe of each run is in `tuning_log.jsonl`. kNN: k = 20, t = 0.1.",
            "",
        ]
        (folder / "tuning_log.md").write_text("\n".join(intro + markdown(tuning_table(records))))
        written.append(folder / "tuning_log.md")
    return written
