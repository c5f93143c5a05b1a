"""Writes the examples' notebooks: ``python examples/make_notebooks.py``, or
``nox -s notebooks``.

Each example ``examples/<folder>/<method>.py`` becomes
``examples/notebooks/<method>_<flavour>.ipynb`` (e.g. ``simsiam_pytorch``,
``simsiam_lightning``, ``simsiam_distributed``: three names, so that a method's
three downloads do not overwrite each other):

1. a Markdown cell with the script's header (what it trains, how to run it);
2. a cell that installs lightly_min where it is missing (on Colab) from the
   repository named in ``pyproject.toml`` (``[project.urls] Repository``), or,
   without one, says how to install it;
3. the script's code, one cell per top-level block, without the ``__main__`` guard;
4. a cell that calls ``main()`` with the smoke-run flags of
   :func:`lightly_min.harness.cli.smoke_args` (plus ``--strategy ddp_notebook``
   for the distributed flavour, which Jupyter needs).

The notebooks are committed, so that Colab can open them; a test fails when one is
out of date (``tests/test_notebooks.py``). The docs link them with the
``notebook-links`` directive of ``docs/_ext/notebooks.py``, which uses this module.
This file is not an example: those are the scripts in the folders of
:data:`FOLDERS`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import tomllib

from lightly_min.harness.cli import smoke_args

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = EXAMPLES / "notebooks"
GUARD = 'if __name__ == "__main__":\n    main()\n'
KEY = r"[A-Z][a-z]+:\s{2,}"  # the header's first key, e.g. "Run:    python ..."
GITHUB = r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
#: Each folder of examples and its flavour: the name that ``parse_args`` and
#: ``smoke_args`` take, and the suffix of the notebook's name.
FOLDERS = {
    "pytorch": "pytorch",
    "pytorch_lightning": "lightning",
    "pytorch_lightning_distributed": "distributed",
}
#: GPUs of the distributed notebook's real run, in the note above the last cell.
REAL_RUN_DEVICES = 4


def example_scripts() -> list[Path]:
    """Every example script: ``examples/<folder>/<method>.py`` for each folder of
    :data:`FOLDERS`."""
    return sorted(path for name in FOLDERS for path in (EXAMPLES / name).glob("*.py"))


def flavour(script: Path) -> str:
    """The flavour of an example script, from its folder: e.g. ``"lightning"``."""
    return FOLDERS[script.parent.name]


def notebook_path(script: Path) -> Path:
    """The notebook of an example script: ``notebooks/<method>_<flavour>.ipynb``."""
    return NOTEBOOKS / f"{script.stem}_{flavour(script)}.ipynb"


def run_arguments(script: Path) -> list[str]:
    """The flags of the notebook's last cell: the smoke run, and ``--strategy
    ddp_notebook`` for the distributed flavour (``ddp`` starts its processes by
    running the script again, which a notebook cannot do)."""
    arguments = smoke_args(flavour(script))
    if flavour(script) == "distributed":
        arguments += ["--strategy", "ddp_notebook"]
    return arguments


def recipe_batch_size(script: Path) -> int:
    """The recipe's global batch: the ``batch_size`` default that the script passes
    to ``parse_args``."""
    call = r"parse_args\((?:[^()]|\n)*?\bbatch_size=(\d+)"
    found = re.search(call, script.read_text())
    if found is None:
        raise ValueError(f"{script}: no batch_size=... in its parse_args call")
    return int(found.group(1))


def real_run(script: Path) -> str:
    """The call of a real run, for the note above the notebook's last cell. The
    distributed one runs on :data:`REAL_RUN_DEVICES` GPUs, each with its share of
    the recipe's batch."""
    if flavour(script) != "distributed":
        return '`main([])`, or pass options: `main(["--data-dir", "my_images"])`'
    batch, devices = recipe_batch_size(script), REAL_RUN_DEVICES
    flags = ["--devices", str(devices), "--batch-size", str(batch // devices)]
    flags += ["--strategy", "ddp_notebook"]
    call = f"`main({json.dumps(flags)})`"
    return f"{call} (the recipe's batch of {batch} on {devices} GPUs)"


def repository_url() -> str | None:
    """The repository's URL: pyproject.toml's ``[project.urls] Repository``, if set."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project.get("urls", {}).get("Repository")


def colab_url(repository: str, branch: str) -> str | None:
    """Colab's address for notebooks of a GitHub ``repository`` at ``branch``, to be
    followed by ``/<path in the repository>``; ``None`` for other hosts or none."""
    github = re.match(GITHUB, repository or "")
    if github is None:
        return None
    owner, name = github.groups()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}"


def install_command(extras: str) -> str:
    """The command that installs lightly_min with ``extras`` from a clone."""
    return f'pip install ".[{extras}]"' if extras else "pip install ."


def install_cell(extras: str, url: str | None) -> str:
    """A notebook's first code cell. With a repository ``url``, it installs lightly_min
    (with ``extras``, e.g. ``"lightning"``) where it is missing, e.g. on Colab; without
    one it installs nothing, and where lightly_min is missing it says how to install it.
    """
    package = f"lightly_min[{extras}]" if extras else "lightly_min"
    if url:
        return (
            "# Installs lightly_min where it is missing (e.g. on Colab)\n"
            "import importlib.util\n\n"
            'if importlib.util.find_spec("lightly_min") is None:\n'
            f'    %pip install "{package} @ git+{url}"'
        )
    command = install_command(extras)
    message = (
        f"lightly_min is not installed: run  {command}  in the folder of a clone of "
        "its repository, then restart this notebook."
    )
    return (
        "# Installs nothing: no public repository of lightly_min is configured.\n"
        "import importlib.util\n\n"
        'if importlib.util.find_spec("lightly_min") is None:\n'
        f"    print({message!r})"
    )


def example_notebook(script: Path, url: str | None) -> nbformat.NotebookNode:
    """The notebook of one example script (see the module's docstring)."""
    text = script.read_text()
    if not text.endswith(GUARD):
        raise ValueError(f"{script} must end with the guard {GUARD!r}")
    start = text.index("\nimport ") + 1
    header, code = text[:start], text[start : -len(GUARD)].rstrip() + "\n"
    lines = [line.removeprefix("#").removeprefix(" ") for line in header.splitlines()]
    first_key = next(i for i, line in enumerate(lines) if re.match(KEY, line))
    title, rest = " ".join(lines[:first_key]), lines[first_key:]
    relative = script.relative_to(ROOT).as_posix()
    intro = (
        f"# {title}\n\n```text\n" + "\n".join(rest) + "\n```\n\n"
        f"Generated from `{relative}` by `python examples/make_notebooks.py`; "
        "do not edit by hand."
    )
    blocks = re.split(r"\n\n\n(?=class |def )", code)
    run_note = (
        "A smoke run: a few noise images for one epoch, seconds on a CPU. For the "
        f"real run, call {real_run(script)}."
    )
    extras = "" if flavour(script) == "pytorch" else "lightning"
    if not url:  # the next cell can only check
        intro += (
            "\n\nNeeds lightly_min: in the folder of a clone of its repository, run "
            f"`{install_command(extras)}`. The next cell checks that it is installed."
        )
    cells = [
        nbformat.v4.new_markdown_cell(intro),
        nbformat.v4.new_code_cell(install_cell(extras, url)),
        *[nbformat.v4.new_code_cell(block.strip("\n")) for block in blocks],
        nbformat.v4.new_markdown_cell(run_note),
        nbformat.v4.new_code_cell(f"main({json.dumps(run_arguments(script))})"),
    ]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    }
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """The notebook's file content."""
    return nbformat.writes(notebook) + "\n"


def write_all() -> list[Path]:
    """Writes every example's notebook and deletes those without a script; returns the
    paths that changed."""
    url, changed = repository_url(), []
    expected = {notebook_path(script): script for script in example_scripts()}
    for path, script in expected.items():
        text = render(example_notebook(script, url))
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    for path in sorted(set(NOTEBOOKS.rglob("*.ipynb")) - set(expected)):
        path.unlink()
        changed.append(path)
    for folder in sorted(NOTEBOOKS.glob("*/")):  # left empty
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return changed


if __name__ == "__main__":
    for path in write_all():
        state = "wrote" if path.exists() else "deleted"
        print(f"{state} {path.relative_to(ROOT)}")
