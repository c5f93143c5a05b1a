"""Progress bars for long loops, shown on the process of rank 0 only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

from lightly_min.utils.dist import rank

T = TypeVar("T")


def progress_bar(
    iterable: Iterable[T], desc: str = "", leave: bool = False, disable: bool = False
) -> tqdm:
    """Wraps ``iterable`` in a tqdm progress bar (hidden on processes of rank > 0, or with
    ``disable``).

    Use ``bar.set_postfix(loss=...)`` to show a running value next to the bar.
    """
    return tqdm(
        iterable, desc=desc, leave=leave, dynamic_ncols=True, disable=disable or rank() != 0
    )
