"""Several augmented views of one image, the input of every joint-embedding method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class MultiViewTransform:
    """Applies each transform to the same image and returns the list of views.

    With torch's default collate, a DataLoader then yields, per batch, a list of
    ``len(transforms)`` tensors of shape ``(B, C, H, W)``.

    Args:
        transforms: One transform per view.
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        if len(transforms) == 0:
            raise ValueError("MultiViewTransform needs at least one transform, got none.")
        self.transforms = list(transforms)

    def __call__(self, image: Any) -> list[Any]:
        return [transform(image) for transform in self.transforms]

    def __repr__(self) -> str:
        views = "".join(f"\n  {transform!r}".replace("\n", "\n  ") for transform in self.transforms)
        return f"{type(self).__name__}({views}\n)"
