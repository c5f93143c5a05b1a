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
