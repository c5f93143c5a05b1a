"""Benchmark numbers on the docs pages, read from ``benchmarks/results/`` at build time.

The numbers are never typed into the docs: ``benchmarks/report.py`` turns
``results.json`` (and the tuning log) into tables and named figures, and this extension
puts them on the page::

    .. benchmark-table:: learning       (or pixels, speed, roofline, tuning)
    .. benchmark-list:: environment
    SimSiam reaches :bench:`simsiam_knn`.

An unknown name, or a results file that is missing, stops the build with a message that says
which and how to make it (``nox -s bench``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxRole

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def load_report() -> Any:
    """benchmarks/report.py (standard library only), by path: the docs build needs neither
    the benchmarks' dependencies nor the repository on sys.path."""
    spec = importlib.util.spec_from_file_location(
        "lightly_min_docs.report", ROOT / "benchmarks" / "report.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = load_report()


def load(name: str) -> Any:
    """The parsed file, read once per build (every directive and role asks for it)."""
    path = RESULTS / name
    if not path.exists():
        raise ExtensionError(
            f"{path} is missing: the Benchmarks page reads its numbers from it. Run "
            "`nox -s bench` to measure them (see benchmarks/README.md)."
        )
    return parse(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def parse(path: Path, mtime_ns: int) -> Any:
    """``mtime_ns`` is part of the cache key, so a rewritten file is read again."""
    if path.suffix == ".jsonl":
        return report.read_tuning_log(path)
    return json.loads(path.read_text())


def cell_class(text: str) -> str:
    """``figure`` for a number (``0.956 ± 0.008``, ``385 GFLOP/s``) or a short label, which
    must stay on one line even on a phone (custom.css); ``words`` for prose, which wraps."""
    return "figure" if "±" in text or len(text) <= 16 else "words"


def table_node(
    header: list[str],
    rows: list[list[str]],
    paragraph: Callable[[str], nodes.paragraph] = lambda text: nodes.paragraph(text=text),
    table_class: str = "benchmark-table",
) -> nodes.table:
    """A docutils table with one header row; each cell is ``paragraph(text)`` (plain text
    unless the caller parses it)."""
    group = nodes.tgroup(cols=len(header))
    group += [nodes.colspec(colwidth=1) for _ in header]

    def row(cells: list[str]) -> nodes.row:
        line = nodes.row()
        line += [nodes.entry("", paragraph(cell), classes=[cell_class(cell)]) for cell in cells]
        return line

    head, body = nodes.thead(), nodes.tbody()
    head += row(header)
    body += [row(cells) for cells in rows]
    group += [head, body]
    # Cells show the file's text exactly: no typographic quotes (Sphinx's smartquotes).
    table = nodes.table(classes=[table_class], support_smartquotes=False)
    table += group
    return table


class BenchmarkTable(Directive):
    """``.. benchmark-table:: NAME``: one of report.TABLES, or ``tuning`` (the tuning log)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        env = self.state.document.settings.env
        if name == "tuning":
            env.note_dependency(str(RESULTS / "tuning_log.jsonl"))
            header, rows = report.tuning_table(load("tuning_log.jsonl"))
        elif name in report.TABLES:
            env.note_dependency(str(RESULTS / "results.json"))
            header, rows = report.TABLES[name](load("results.json"))
        else:
            choices = ", ".join([*report.TABLES, "tuning"])
            raise self.error(f"Unknown benchmark table {name!r}; choose one of {choices}.")
        if not rows:
            raise self.error(
                f"results.json has no rows for the {name!r} table yet: run "
                "`nox -s bench` (see benchmarks/README.md)."
            )
        return [table_node(header, rows)]


class BenchmarkList(Directive):
    """``.. benchmark-list:: environment``: one literal line per benchmark part;
    ``standing``: for each method without a learning row, where it stands."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        env.note_dependency(str(RESULTS / "results.json"))
        bullets = nodes.bullet_list()
        if self.arguments[0] == "standing":  # the methods without a learning row
            env.note_dependency(str(RESULTS / "tuning_log.jsonl"))
            results, records = load("results.json"), load("tuning_log.jsonl")
            measured = results.get("learning", {}).get("methods", {})
            stems = sorted(p.stem for p in (ROOT / "examples" / "pytorch").glob("*.py"))
            for method in (m for m in stems if m not in measured):
                text = report.standing(method, results, records)
                bullets += nodes.list_item("", nodes.paragraph(text=text))
            if not len(bullets):
                bullets += nodes.list_item("", nodes.paragraph(text="None: every method has one."))
            return [bullets]
        if self.arguments[0] != "environment":
            raise self.error(
                f"Unknown benchmark list {self.arguments[0]!r}; use environment or standing."
            )
        for line in report.environment_items(load("results.json")):
            bullets += nodes.list_item("", nodes.paragraph("", "", nodes.literal(text=line)))
        return [bullets]


class Standing(SphinxRole):
    """``:standing:`METHOD```: where the method stands on the digits, one sentence read from
    the learning results and the tuning log (:func:`report.standing`)."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        for name in ("results.json", "tuning_log.jsonl"):
            self.env.note_dependency(str(RESULTS / name))
        sentence = report.standing(self.text, load("results.json"), load("tuning_log.jsonl"))
        return [nodes.Text(sentence)], []


class BenchmarkFigure(SphinxRole):
    """``:bench:`NAME```: one number from :func:`report.figures`."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        self.env.note_dependency(str(RESULTS / "results.json"))
        figures = report.figures(load("results.json"))
        if self.text not in figures:
            message = self.inliner.reporter.error(
                f"Unknown benchmark figure {self.text!r}; known: {', '.join(sorted(figures))}.",
                line=self.lineno,
            )
            return [nodes.problematic(self.rawtext, self.rawtext)], [message]
        return [nodes.Text(figures[self.text])], []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("benchmark-table", BenchmarkTable)
    app.add_directive("benchmark-list", BenchmarkList)
    app.add_role("bench", BenchmarkFigure())
    app.add_role("standing", Standing())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
