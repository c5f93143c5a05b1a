"""Sphinx configuration for the lightly_min documentation.

The build is offline: no intersphinx inventories, no remote images, no math from a CDN. It
needs lightly_min installed (``pip install -e ".[docs]"``; nox does it).

The tutorials (``tutorials/*.py``) are sphinx-gallery scripts. A full run of them takes
minutes, so a normal build does not execute them: ``nox -s tutorials`` runs them at full
scale (``LIGHTLY_MIN_RUN_TUTORIALS=1``) and stores their pages, pictures and notebooks in
``docs/tutorials/``, which is committed; a normal build uses those, and stops if a tutorial
changed since its outputs were made.
"""

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from sphinx.errors import ExtensionError

import lightly_min

DOCS = Path(__file__).resolve().parent
TUTORIALS = DOCS.parent / "tutorials"
TUTORIAL_OUTPUTS = DOCS / "tutorials"
RUN_TUTORIALS = os.environ.get("LIGHTLY_MIN_RUN_TUTORIALS") == "1"


def load_extension(name: str):
    """docs/_ext/<name>.py as a module (a path, not an entry on sys.path)."""
    path = DOCS / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"lightly_min_docs.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


notebooks = load_extension("notebooks")
benchmark_results = load_extension("benchmark_results")
tutorial_order = load_extension("tutorial_order")
method_comparison = load_extension("method_comparison")
method_diagram = load_extension("method_diagram")

project = "lightly_min"
author = "the lightly_min developers"
copyright = "2026, the lightly_min developers"
release = version = lightly_min.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_copybutton",
    "sphinx_tabs.tabs",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "_includes"]  # _includes: snippets that pages include
nitpicky = True
# Names from Python and other projects: without intersphinx (offline) they cannot resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|torchvision|PIL|numpy|np|tqdm|nn|Image|matplotlib)(\..*)?"),
    (r"py:.*", r"(argparse|collections|contextlib|pathlib|typing)\..*"),
    (r"py:.*", r"(pytorch_lightning|lightning_fabric)\..*"),
    (r"py:.*", r"(Tensor|Module|Dataset|Block|Path|Any|Callable|Iterable|Sequence|Mapping)"),
    (r"py:.*", r"lightly_min\.(utils\.)?(progress\.T|dist\.F)"),  # TypeVars
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"lightly_min {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]

sphinx_tabs_disable_tab_closing = True  # clicking the open tab keeps it open

# Copy code without the shell prompt.
copybutton_prompt_text = r"\$ "
copybutton_prompt_is_regexp = True

# "Open in Colab" badges need the repository's public URL: Read the Docs gives it to its
# builds; elsewhere pyproject.toml's [project.urls] Repository. Without one, no badge.
colab_url = notebooks.colab_url(
    os.environ.get("READTHEDOCS_GIT_CLONE_URL") or notebooks.repository_url() or "",
    os.environ.get("READTHEDOCS_GIT_IDENTIFIER", "main"),
)

sphinx_gallery_conf = {
    "examples_dirs": str(TUTORIALS),
    "gallery_dirs": str(TUTORIAL_OUTPUTS),
    "filename_pattern": r"\.py$",  # every tutorial runs (in nox -s tutorials)
    "plot_gallery": RUN_TUTORIALS,
    "abort_on_example_error": True,
    "download_all_examples": False,
    "write_computation_times": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": float("inf"),  # run times belong to the tutorial's own output
    "remove_config_comments": True,
    "first_notebook_cell": notebooks.install_cell("tutorials", notebooks.repository_url()),
    "reset_modules": ("matplotlib",),
    # The gallery and the sidebar list the tutorials in the order of the Methods.
    "within_subsection_order": f"{tutorial_order.__name__}.MethodsOrder",
}


def check_tutorial_outputs(app) -> None:
    """Stops the build where a tutorial changed since ``nox -s tutorials`` stored its outputs."""
    if RUN_TUTORIALS:
        return
    for source in sorted(TUTORIALS.glob("*.py")):
        stored = TUTORIAL_OUTPUTS / f"{source.name}.md5"
        digest = hashlib.md5(source.read_bytes()).hexdigest()
        if not stored.exists() or stored.read_text().strip() != digest:
            raise ExtensionError(
                f"{source.relative_to(DOCS.parent)} changed since its outputs in docs/tutorials/ "
                "were made. Run `nox -s tutorials` to run it at full scale and store them."
            )


def setup(app) -> None:
    notebooks.setup(app)
    benchmark_results.setup(app)
    method_comparison.setup(app)
    method_diagram.setup(app)
    app.add_config_value("colab_url", None, "env")
    app.connect("builder-inited", check_tutorial_outputs, priority=100)
