"""Sphinx configuration for the lightly_min documentation.

The build is offline: no intersphinx inventories, no remote images, no math from a CDN.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the lightly_min package of this clone
sys.path.insert(0, str(DOCS / "_ext"))

import lightly_min  # noqa: E402

project = "lightly_min"
author = "the lightly_min developers"
copyright = "2026, the lightly_min developers"
release = version = lightly_min.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_copybutton",
    "sphinx_tabs.tabs",
    "benchmark_results",
]

exclude_patterns = ["_build", "_includes"]  # _includes: snippets that pages include
nitpicky = True
# Names from Python and other projects: without intersphinx (offline) they cannot resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|torchvision|PIL|numpy|np|tqdm|nn|Image)(\..*)?"),
    (r"py:.*", r"(collections|pathlib|typing)\..*"),
    (r"py:.*", r"(Tensor|Module|Dataset|Block|Path|Any|Callable|Iterable|Sequence)"),
    (r"py:.*", r"lightly_min\.utils\.progress\.T"),  # a TypeVar
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
