"""The "Which method?" page's tables and advice, built from facts and measurements, never typed
into its prose: a method added to the site appears in every table and every piece of advice.

The methods are the example scripts (``examples/pytorch/<method>.py``), in the order of the
index's Methods toctree. What the page says about each comes from ``docs/method_facts.toml``;
the measured numbers come from ``benchmarks/results/results.json``::

    .. method-comparison:: design      (or training, measured)

    .. method-advice:: small_batches   (a situation of the facts' advice tables, or little_data)

       Our prose about the situation, naming no method.

A method without facts, or without a situation's advice, stops the build with a message that
says what to add.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package (pyproject.toml)
    import tomli as tomllib

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
FACTS = DOCS / "method_facts.toml"


def sibling(name: str) -> Any:
    """Another extension of docs/_ext, the module conf.py loaded (or loaded here by path)."""
    key = f"lightly_min_docs.{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, DOCS / "_ext" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def methods() -> list[str]:
    """Every method with an example script, in the order of the index's Methods."""
    stems = {path.stem for path in (ROOT / "examples" / "pytorch").glob("*.py")}
    listed = [m for m in sibling("tutorial_order").methods_in_index() if m in stems]
    return listed + sorted(stems - set(listed))


def facts() -> dict[str, dict[str, Any]]:
    """Each method's facts; every method must have them."""
    table = tomllib.loads(FACTS.read_text())
    missing = [method for method in methods() if method not in table]
    if missing:
        raise ExtensionError(
            f"{FACTS.relative_to(ROOT)} has no table for {', '.join(missing)}: add one (see "
            "the file's header and an existing method) for the Which method? page."
        )
    return {method: table[method] for method in methods()}


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def measured(results: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per method with benchmark results: the cells of the measured table (mean ± std)."""
    pm = sibling("benchmark_results").report.pm
    found = {}
    for method, entry in results.get("learning", {}).get("methods", {}).items():
        s = entry["summary"]
        fewest = s.get("label_efficiency", {}).get("trained", {})
        first = next(iter(fewest), None)
        found[method] = {
            "epochs": str(s["epochs"]),
            "knn": pm(s["trained_knn"]),
            "linear": pm(s["trained_linear_probe"]),
            "few": pm(fewest[first]["linear_probe"]) if first else "not measured",
            "few_count": first,
            "few_mean": fewest[first]["linear_probe"]["mean"] if first else None,
        }
    return found


def pixel_cells(results: dict[str, Any]) -> list[str]:
    """The raw pixels' kNN, linear probe and fewest-labels linear probe, as in :func:`measured`
    (the same for every method: one split, no training); empty without results."""
    pm = sibling("benchmark_results").report.pm
    entries = list(results.get("learning", {}).get("methods", {}).values())
    if not entries:
        return []
    s = entries[0]["summary"]
    pixels = s.get("label_efficiency", {}).get("pixels", {})
    first = next(iter(pixels), None)
    few = pm(pixels[first]["linear_probe"]) if first else ""
    return [pm(s["pixels_knn"]), pm(s["pixels_linear_probe"]), few]


class MethodDirective(Directive):
    """Shared by both directives: inline reST in cells, the results file as a dependency."""

    def inline(self, text: str) -> nodes.paragraph:
        parsed, messages = self.state.inline_text(text, self.lineno)
        return nodes.paragraph("", "", *parsed, *messages)

    def link(self, method: str, title: str) -> str:
        return f":doc:`{title} </methods/{method}>`"

    def results(self) -> dict[str, Any]:
        env = self.state.document.settings.env
        env.note_dependency(str(FACTS))
        env.note_dependency(str(ROOT / "benchmarks" / "results" / "results.json"))
        return sibling("benchmark_results").load("results.json")

    def tuned(self) -> dict[str, dict[str, str]]:
        """Per method without benchmark results but with tuning runs: its best run's cells,
        marked as one seed of a tuning run."""
        extension = sibling("benchmark_results")
        env = self.state.document.settings.env
        env.note_dependency(str(ROOT / "benchmarks" / "results" / "tuning_log.jsonl"))
        records = extension.load("tuning_log.jsonl")
        found = {}
        for method in methods():
            best = extension.report.best_tuning_run(records, method)
            if best is not None:
                mark = f"(best tuning run, {best['name']}, one seed; not learning yet)"
                if best["knn"] >= best["random_init_knn"] + extension.report.LEARNING_BAR:
                    mark = f"(best tuning run, {best['name']}, one seed)"
                found[method] = {
                    "epochs": str(best["epochs"]), "knn": f"{best['knn']:.3f} {mark}",
                    "linear": f"{best['linear_probe']:.3f}", "few": "",
                }  # fmt: skip
        return found

    def table(self, header: list[str], rows: list[list[str]]) -> nodes.table:
        """The Benchmarks page's table, its cells parsed as inline reST (links, literals)."""
        return sibling("benchmark_results").table_node(
            header, rows, self.inline, table_class="method-comparison"
        )


class MethodComparison(MethodDirective):
    """``.. method-comparison:: design | training | measured``: one row per method."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        kind, known = self.arguments[0], facts()
        if kind == "design":
            header = ["method", "negatives", "target", "predictor", "views",
                      "backbone passes per image"]  # fmt: skip
            rows = [
                [f"{self.link(m, f['title'])} ({f['paper']})", f["negatives"], f["target"],
                 yes_no(f["predictor"]), str(f["views"]), f["backbone_passes"]]
                for m, f in known.items()
            ]  # fmt: skip
        elif kind == "training":
            header = ["method", "batch size", "under DDP"]
            rows = [
                [self.link(m, f["title"]), f["batch_size"], f["distributed"]]
                for m, f in known.items()
            ]
        elif kind == "measured":
            ours = measured(self.results())
            counts = {cells["few_count"] for cells in ours.values() if cells["few_count"]}
            few = f"linear probe, {counts.pop()} label per class" if len(counts) == 1 else ""
            header = ["method", "digits: epochs", "digits: kNN", "digits: linear probe",
                      f"digits: {few or 'fewest labels'}",
                      "lightly, CIFAR-10 kNN (200 epochs, batch 128)"]  # fmt: skip
            missing = {"epochs": "not run", "knn": "not run", "linear": "not run", "few": ""}
            tuned = self.tuned()
            rows = []
            for method, f in known.items():
                cells = ours.get(method) or tuned.get(method) or missing
                lightly = f.get("lightly_cifar10_knn")
                rows.append([
                    self.link(method, f["title"]), cells["epochs"], cells["knn"],
                    cells["linear"], cells["few"],
                    f"{lightly:.3f}" if lightly is not None else "not published",
                ])  # fmt: skip
            pixels = pixel_cells(self.results())
            if pixels:
                rows.append(["raw pixels (baseline)", "", *pixels, ""])
        else:
            raise self.error(f"Unknown comparison {kind!r}; use design, training or measured.")
        return [self.table(header, rows)]


class MethodAdvice(MethodDirective):
    """``.. method-advice:: SITUATION`` with our prose as content, followed by the methods that
    fit the situation and those that fit it less, each with its reason from the facts;
    ``little_data`` ranks the methods by their measured accuracy with the fewest labels."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        container = nodes.container(classes=["method-advice"])
        self.state.nested_parse(self.content, self.content_offset, container)
        situation, known = self.arguments[0], facts()
        items = nodes.bullet_list()
        if situation == "little_data":
            ours = measured(self.results())
            ranked = sorted(
                (m for m in known if ours.get(m, {}).get("few_mean") is not None),
                key=lambda m: -ours[m]["few_mean"],
            )
            for method in ranked:
                cells = ours[method]
                text = (f"{self.link(method, known[method]['title'])}: {cells['few']} with "
                        f"{cells['few_count']} labelled per class")  # fmt: skip
                items += nodes.list_item("", self.inline(text))
            unmeasured = [self.link(m, known[m]["title"]) for m in known if m not in ranked]
            if unmeasured:
                text = "Not measured on the digits yet: " + ", ".join(unmeasured) + "."
                items += nodes.list_item("", self.inline(text))
        else:
            fits: dict[str, list[str]] = {"good": [], "poor": []}
            for method, f in known.items():
                advice = f.get("advice", {}).get(situation)
                if advice is None or advice.get("fit") not in fits:
                    raise self.error(
                        f"{FACTS.relative_to(ROOT)}: [{method}.advice] has no {situation} "
                        '= { fit = "good" or "poor", why = "..." }; add it.'
                    )
                fits[advice["fit"]].append(f"{self.link(method, f['title'])} ({advice['why']})")
            for label, names in (("Good fits", fits["good"]), ("Less good", fits["poor"])):
                text = f"**{label}:** " + ("; ".join(names) if names else "none")
                items += nodes.list_item("", self.inline(text + "."))
        container += items
        return [container]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("method-comparison", MethodComparison)
    app.add_directive("method-advice", MethodAdvice)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
