"""Tables, single figures and plots from ``results/results.json``.

Every table is ``(header, rows)`` of plain strings, so the same cells reach ``results.md``
(:func:`write_report`) and the docs' Benchmarks page (``docs/_ext/benchmark_results.py``).
Nothing here needs more than the standard library, except the plots (matplotlib).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = {"simsiam": "SimSiam", "fastsiam": "FastSiam", "simclr": "SimCLR", "byol": "BYOL",
         "moco": "MoCo", "vicreg": "VICReg", "barlowtwins": "Barlow Twins",
         "dino": "DINO"}  # fmt: skip
Table = tuple[list[str], list[list[str]]]


def name(method: str) -> str:
    return NAMES.get(method, method)


def pm(stats: dict[str, float], scale: float = 1.0, digits: int = 3) -> str:
    """``mean ± std`` of a ``{"mean", "std"}`` dict."""
    return f"{stats['mean'] * scale:.{digits}f} ± {stats['std'] * scale:.{digits}f}"


def learning_table(results: dict[str, Any]) -> Table:
    """Held-out accuracy per method: trained, random init, raw pixels (mean ± std)."""
    header = ["method", "seeds", "epochs", "minutes / run", "kNN", "linear probe"]
    header += ["kNN, random init", "linear, random init", "kNN − raw pixels (points)"]
    rows = []
    for method, entry in results.get("learning", {}).get("methods", {}).items():
        s = entry["summary"]
        rows.append([
            name(method), str(len(s["seeds"])), str(s["epochs"]), pm(s["minutes"], digits=1),
            pm(s["trained_knn"]), pm(s["trained_linear_probe"]), pm(s["random_init_knn"]),
            pm(s["random_init_linear_probe"]), pm(s["knn_gain_over_pixels"], 100, 1),
        ])  # fmt: skip
    return header, rows


def pixels_table(results: dict[str, Any]) -> Table:
    """The raw-pixel baseline (the same in every run: it does not depend on the seed)."""
    methods = results.get("learning", {}).get("methods", {})
    if not methods:
        return ["baseline", "kNN", "linear probe"], []
    s = next(iter(methods.values()))["summary"]
    row = ["raw pixels (784 grey levels)", pm(s["pixels_knn"]), pm(s["pixels_linear_probe"])]
    return ["baseline", "kNN", "linear probe"], [row]


def speed_table(results: dict[str, Any]) -> Table:
    header = ["example", "lightly_min (images/s)", "lightly (images/s)", "ratio"]
    rows = [
        [f"examples/pytorch/{method}.py", pm(e["lightly_min"], digits=0),
         pm(e["lightly"], digits=0), pm(e["ratio"], digits=2)]
        for method, e in results.get("speed", {}).get("methods", {}).items()
    ]  # fmt: skip
    return header, rows


def roofline_table(results: dict[str, Any]) -> Table:
    roofline = results.get("roofline", {})
    if not roofline:
        return ["quantity", "value"], []
    step, peaks = roofline["step"], roofline["matmul_peak_flops"]
    rows = [
        ["batch, precision", f"{step['batch_size']}, {step['precision']}"],
        ["FLOPs per training step", f"{step['flops_per_step'] / 1e9:.1f} G"],
        ["seconds per step", f"{step['seconds_per_step']:.3f}"],
        ["achieved", f"{step['achieved_flops'] / 1e9:.0f} GFLOP/s"],
        ["matrix-product peak, bf16", f"{peaks['bf16'] / 1e9:.0f} GFLOP/s"],
        ["matrix-product peak, fp32", f"{peaks['fp32'] / 1e9:.0f} GFLOP/s"],
        [f"achieved / {step['precision']} peak", f"{roofline['fraction_of_peak']:.0%}"],
    ]
    return ["quantity", "value"], rows


def tuning_table(records: list[dict[str, Any]]) -> Table:
    """The tuning log in brief, one row per run (a configuration and a seed; seed 0 unless
    the name says another). A run that did not finish shows how it ended, and the kNN of its
    last epoch where it had one."""
    rows = []
    for r in records:
        run = r["name"] if r.get("seed", 0) == 0 else f"{r['name']}, seed {r['seed']}"
        curve, status = r.get("knn_per_epoch") or [], r.get("status", "finished")
        final = f"{curve[-1]:.3f}" if curve else ""
        if status != "finished":
            final = f"{final} ({status} in epoch {len(curve) + 1})" if curve else status
        init = r.get("random_init_knn")
        rows.append([
            run, name(r["method"]), r.get("note", ""), str(len(curve)),
            f"{init:.3f}" if init is not None else "—", final,
        ])  # fmt: skip
    return ["run", "method", "what changed", "epochs", "random init kNN", "final kNN"], rows


def label_efficiency_table(results: dict[str, Any], metric: str) -> Table:
    """Held-out accuracy (``metric``: ``"linear_probe"`` or ``"knn"``) with 1, 5, ... and all
    labelled digits per class, mean ± std over seeds: each method's trained and untrained
    network, and the raw pixels once."""
    methods = results.get("learning", {}).get("methods", {})
    curves = {m: e["summary"].get("label_efficiency") for m, e in methods.items()}
    curves = {m: c for m, c in curves.items() if c}
    if not curves:
        return ["features", "labels per class"], []
    counts = list(next(iter(curves.values()))["trained"])
    rows = []
    for method, curve in curves.items():
        for features, label in (("trained", "trained"), ("random_init", "random init")):
            cells = [pm(curve[features][count][metric]) for count in counts]
            rows.append([f"{name(method)}, {label}", *cells])
    pixels = next(iter(curves.values()))["pixels"]
    rows.append(["raw pixels", *(pm(pixels[count][metric]) for count in counts)])
    return ["features", *(f"{count} / class" for count in counts)], rows


TABLES = {
    "learning": learning_table,
    "label_efficiency_linear_probe": lambda r: label_efficiency_table(r, "linear_probe"),
    "label_efficiency_knn": lambda r: label_efficiency_table(r, "knn"),
    "pixels": pixels_table,
    "speed": speed_table,
    "roofline": roofline_table,
}


def read_tuning_log(path: Path = RESULTS / "tuning_log.jsonl") -> list[dict[str, Any]]:
    """The records of the tuning log, one per configuration tried."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def few_labels_below_pixels(methods: dict[str, Any], metric: str) -> str:
    """The methods whose trained network's mean accuracy (``metric``) is at or below the raw
    pixels' with some number of labels per class, each with those numbers: e.g. ``"BYOL (50
    and all per class)"``, or ``"none"``."""
    below = []
    for method, entry in methods.items():
        curve = entry["summary"].get("label_efficiency")
        if not curve:
            continue
        counts = [
            count
            for count, trained in curve["trained"].items()
            if trained[metric]["mean"] <= curve["pixels"][count][metric]["mean"]
        ]
        if counts:
            listed = ", ".join(counts[:-1]) + (" and " if len(counts) > 1 else "") + counts[-1]
            below.append(f"{name(method)} ({listed} per class)")
    return "; ".join(below) or "none"


def figures(results: dict[str, Any]) -> dict[str, str]:
    """Single numbers that the docs' prose quotes (the ``:bench:`` role), by name."""
    found: dict[str, str] = {}
    methods = results.get("learning", {}).get("methods", {})
    for method, entry in methods.items():
        s = entry["summary"]
        found[f"{method}_knn"] = pm(s["trained_knn"])
        found[f"{method}_knn_std"] = f"{s['trained_knn']['std']:.3f}"
        found[f"{method}_minutes"] = f"{s['minutes']['mean']:.1f}"
        found["pixels_knn"] = f"{s['pixels_knn']['mean']:.3f}"
        found["seeds"] = str(len(s["seeds"]))
    if methods:
        below = [
            name(m) for m, e in methods.items() if e["summary"]["knn_gain_over_pixels"]["mean"] <= 0
        ]
        found["below_pixels"] = ", ".join(below) or "none"
        found["learning_minutes"] = f"{results['learning']['wall_seconds'] / 60:.0f}"
        found["cores"] = str(results["learning"]["run"]["hardware"]["logical_cores"])
    for metric in ("linear_probe", "knn"):
        found[f"few_labels_{metric}_below_pixels"] = few_labels_below_pixels(methods, metric)
    ratios = [e["ratio"]["mean"] for e in results.get("speed", {}).get("methods", {}).values()]
    if ratios:
        found["min_speed_ratio"], found["max_speed_ratio"] = (
            f"{min(ratios):.2f}",
            f"{max(ratios):.2f}",
        )
        found["speed_batch_size"] = str(results["speed"]["settings"]["batch_size"])
        found["speed_repeats"] = str(results["speed"]["settings"]["repeats"])
        found["speed_images"] = f"{results['speed']['settings']['images']:,}"
    if results.get("roofline"):
        found["roofline_percent"] = f"{results['roofline']['fraction_of_peak']:.0%}"
        found["achieved_gflops"] = f"{results['roofline']['step']['achieved_flops'] / 1e9:.0f}"
    parts = [results[part]["wall_seconds"] for part in ("learning", "speed", "roofline")
             if results.get(part, {}).get("wall_seconds") is not None]  # fmt: skip
    if parts:
        found["bench_minutes"] = f"{sum(parts) / 60:.0f}"
    return found


#: A method learns on the digits when its mean held-out kNN over three seeds is at least this
#: much above the same network's at random initialisation.
LEARNING_BAR = 0.05


def best_tuning_run(records: list[dict[str, Any]], method: str) -> dict[str, Any] | None:
    """The finished tuning run of ``method`` with the highest final held-out kNN, among the
    runs of the tuning sweep (``benchmarks/tune.py``); None if there is none."""
    runs = [
        r for r in records
        if r.get("method") == method and r.get("status") == "finished"
        and isinstance(r.get("knn"), (int, float))
    ]  # fmt: skip
    return max(runs, key=lambda r: r["knn"], default=None)


def standing(method: str, results: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """Where ``method`` stands on the digits, in one sentence: its learning row (three seeds)
    where there is one, else its best tuning run against the same network at random
    initialisation and the raw pixels, else that it has not been measured."""
    title = name(method)
    entry = results.get("learning", {}).get("methods", {}).get(method)
    if entry is not None:
        s = entry["summary"]
        gain = (s["trained_knn"]["mean"] - s["random_init_knn"]["mean"]) * 100
        pixels = s["pixels_knn"]["mean"]
        side = "above" if s["trained_knn"]["mean"] > pixels else "below"
        return (
            f"On the digits, {title}'s held-out kNN accuracy is {pm(s['trained_knn'])} over "
            f"{len(s['seeds'])} seeds, {gain:+.1f} points from the same network at random "
            f"initialisation ({pm(s['random_init_knn'])}), and {side} the raw pixels "
            f"({pixels:.3f})."
        )
    best = best_tuning_run(records, method)
    if best is None:
        return f"{title} has not been measured on the digits yet."
    tried = sorted({r["name"] for r in records if r.get("method") == method})
    init, pixels = best["random_init_knn"], best["pixels_knn"]

    def side(value: float) -> str:
        return "above" if best["knn"] > value else "below"

    learns = best["knn"] >= init + LEARNING_BAR
    verdict = (
        f"{title} has no three-seed learning row yet; its best tuning run clears the learning "
        "bar (5 points above random initialisation) with one seed"
        if learns
        else f"{title} does not learn on the digits yet"
    )
    return (
        f"{verdict}: the best of its {len(tried)} tuning configurations so far, "
        f"{best['name']} (seed {best['seed']}, {best['epochs']} epochs), ends at held-out kNN "
        f"{best['knn']:.3f}, {side(init)} the same network at random initialisation "
        f"({init:.3f}) and {side(pixels)} the raw pixels ({pixels:.3f})."
    )


def environment_items(results: dict[str, Any]) -> list[str]:
    """One line per part: the command, date, duration, hardware and versions."""
    items = []
    for part in ("learning", "speed", "roofline"):
        run = results.get(part, {}).get("run")
        if not run:
            continue
        hardware = run["hardware"]
        versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items() if v)
        load = run.get("load_average_at_start")
        busy = f", load average {load[0]:.1f} at start" if load else ""
        threads = f", {run['torch_threads']} torch thread(s)" if "torch_threads" in run else ""
        if "bf16_supported" in run:
            threads += ", bf16" if run["bf16_supported"] else ", no native bf16 (fp32)"
        items.append(
            f"{part}: {run['command']} on {run['date']}, "
            f"{results[part]['wall_seconds'] / 60:.0f} min; {hardware['cpu_model']}, "
            f"{hardware['logical_cores']} cores, {hardware['memory_gib']} GiB{threads}{busy}; "
            f"{versions}"
        )
    return items


def markdown(table: Table) -> list[str]:
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def results_markdown(results: dict[str, Any]) -> str:
    """The whole of ``results.md``."""
    lines = ["# lightly_min benchmarks", "", "Generated from `results.json` by "]
    lines[-1] += "`python -m benchmarks --part report`; see README.md for what each figure means."
    for title, table in [
        ("Learning: held-out accuracy on digits (mean ± std over seeds)", learning_table(results)),
        (
            "Label efficiency: linear probe with few labels per class",
            label_efficiency_table(results, "linear_probe"),
        ),
        ("Label efficiency: kNN with few labels per class", label_efficiency_table(results, "knn")),
        ("Baseline", pixels_table(results)),
        ("Speed: the examples built from lightly_min and from lightly", speed_table(results)),
        ("Fraction of peak: the SimSiam example's training step", roofline_table(results)),
    ]:
        if table[1]:
            lines += ["", f"## {title}", "", *markdown(table)]
    items = environment_items(results)
    lines += ["## Environment", "", *(f"- `{item}`" for item in items), ""]
    return "\n".join(lines)


def method_colour(index: int) -> Any:
    """The ``index``-th method's colour: matplotlib's tab10 without its grey, which the
    baselines use."""
    import matplotlib.pyplot as plt

    colours = [colour for i, colour in enumerate(plt.get_cmap("tab10").colors) if i != 7]
    return colours[index % len(colours)]


def plot_knn(results: dict[str, Any], path: Path) -> None:
    """Held-out kNN accuracy per epoch, mean ± std over seeds, with the raw-pixel line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    pixels = None
    for index, (method, entry) in enumerate(results["learning"]["methods"].items()):
        curve = entry["summary"]["knn_per_epoch"]
        mean = [point["mean"] for point in curve]
        std = [point["std"] for point in curve]
        epochs = range(len(curve))
        axis.plot(epochs, mean, label=name(method), color=method_colour(index))
        axis.fill_between(epochs, [m - s for m, s in zip(mean, std)],
                          [m + s for m, s in zip(mean, std)], alpha=0.2,
                          color=method_colour(index))  # fmt: skip
        pixels = entry["summary"]["pixels_knn"]["mean"]
    axis.axhline(pixels, color="grey", linestyle="--", label="raw pixels")
    axis.set_xlabel("epoch (0: random initialisation)")
    axis.set_ylabel("held-out kNN accuracy")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_label_efficiency(results: dict[str, Any], path: Path) -> None:
    """Held-out accuracy against labelled digits per class, linear probe and kNN
    side by side: each method trained (mean ± std over seeds), its network untrained
    (dotted), and the raw pixels (grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = results["learning"]["methods"]
    curves = {m: e["summary"]["label_efficiency"] for m, e in methods.items()}
    counts = list(next(iter(curves.values()))["trained"])
    xs = range(len(counts))  # evenly spaced: 1, 5, 10, 50, all
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    colours = method_colour
    for axis, (metric, title) in zip(axes, [("linear_probe", "linear probe"), ("knn", "kNN")]):
        for i, (method, curve) in enumerate(curves.items()):
            mean = [curve["trained"][c][metric]["mean"] for c in counts]
            std = [curve["trained"][c][metric]["std"] for c in counts]
            axis.plot(xs, mean, marker="o", markersize=3, color=colours(i), label=name(method))
            low, high = [m - d for m, d in zip(mean, std)], [m + d for m, d in zip(mean, std)]
            axis.fill_between(xs, low, high, color=colours(i), alpha=0.2)
            untrained = [curve["random_init"][c][metric]["mean"] for c in counts]
            axis.plot(xs, untrained, linestyle=":", color=colours(i))
        pixels = next(iter(curves.values()))["pixels"]
        axis.plot(xs, [pixels[c][metric]["mean"] for c in counts], color="grey",
                  linestyle="--", label="raw pixels")  # fmt: skip
        axis.plot([], [], linestyle=":", color="black", label="random init (dotted)")
        axis.set_xticks(list(xs), counts)
        axis.set_xlabel("labelled training digits per class")
        axis.set_title(f"held-out accuracy, {title}", fontsize=10)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("held-out accuracy")
    axes[1].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(results: dict[str, Any], folder: Path = RESULTS) -> list[Path]:
    """Writes ``results.md`` and, with learning results, ``knn_per_epoch.png`` and
    ``label_efficiency.png``."""
    written = [folder / "results.md"]
    written[0].write_text(results_markdown(results))
    methods = results.get("learning", {}).get("methods", {})
    if methods:
        plot_knn(results, folder / "knn_per_epoch.png")
        written.append(folder / "knn_per_epoch.png")
    if methods and all(e["summary"].get("label_efficiency") for e in methods.values()):
        plot_label_efficiency(results, folder / "label_efficiency.png")
        written.append(folder / "label_efficiency.png")
    return written
