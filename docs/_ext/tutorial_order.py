"""The order of the tutorials in their gallery and the sidebar: that of the Methods in the
index's toctree, so that both lists read alike.

``sphinx_gallery_conf["within_subsection_order"]`` names :class:`MethodsOrder`; a tutorial
is ``tutorials/<method>_digits.py``. A tutorial whose method is not in the toctree goes last.
"""

from __future__ import annotations

import re
from pathlib import Path

INDEX = Path(__file__).resolve().parents[1] / "index.rst"


def methods_in_index(index: Path = INDEX) -> list[str]:
    """The methods of the index's ``:caption: Methods`` toctree, in its order."""
    text = index.read_text()
    found = re.search(r":caption: Methods\n\n((?:[ \t]+\S.*\n)+)", text)
    if found is None:
        raise ValueError(f"{index} has no toctree with ':caption: Methods'")
    entries = [line.strip() for line in found.group(1).splitlines()]
    return [entry.removeprefix("methods/") for entry in entries]


class MethodsOrder:
    """A sort key for sphinx-gallery: a tutorial's place among the index's methods."""

    def __init__(self, src_dir: str | Path) -> None:
        self.src_dir, self.methods = src_dir, methods_in_index()

    def __call__(self, filename: str | Path) -> tuple[int, str]:
        method = Path(filename).stem.removesuffix("_digits")
        place = self.methods.index(method) if method in self.methods else len(self.methods)
        return place, method

    def __repr__(self) -> str:
        return "<MethodsOrder>"
