"""A dataset over a folder of image files, labelled or not."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS

from lightly_min.errors import InputError
from lightly_min.transforms.rgb import pil_to_rgb

#: What PIL raises for a file it cannot decode: not an image, truncated, a broken chunk
#: (SyntaxError), or too many pixels (DecompressionBombError).
_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class LightlyDataset(Dataset):
    """Every image file under ``input_dir``, searched recursively, in sorted order.

    Images in subfolders of ``input_dir`` get the subfolder's index (in sorted order) as their
    label; images directly in ``input_dir`` get label 0, so an unlabelled folder works as is.
    Files with other extensions are skipped. Every image becomes RGB (grey, 16-bit grey,
    palette and RGBA images work: :func:`~lightly_min.transforms.rgb.pil_to_rgb`).

    An image that cannot be read (corrupt, truncated) is skipped with a warning that names it,
    and the next readable image in the sorted order takes its place, with its own label: a
    long run does not stop for one bad file, and every batch keeps its size.

    Args:
        input_dir: The folder to read.
        transform: Applied to each RGB PIL image, e.g. a multi-view transform.

    Raises:
        InputError: ``input_dir`` is missing or not a folder, holds no image files, or none of
            them can be read.

    Returns:
        Per index, ``(transform(image), label, path relative to input_dir)``.
    """

    def __init__(
        self, input_dir: str | Path, transform: Callable[[Image.Image], Any] | None = None
    ):
        root = Path(input_dir).expanduser()
        if not root.exists():
            raise InputError(f"{root} does not exist. Pass a folder of images.")
        if not root.is_dir():
            raise InputError(f"{root} is a file, not a folder. Pass the folder that holds it.")
        self.root = root
        self.transform = transform
        found = [path for path in root.rglob("*") if path.is_file()]
        self.files = sorted(
            path.relative_to(root) for path in found if path.suffix.lower() in IMG_EXTENSIONS
        )
        if not self.files:
            what = f"{len(found)} files, none of them an image" if found else "no files at all"
            raise InputError(
                f"{root} holds no images ({what}; looked for {', '.join(IMG_EXTENSIONS)} in it "
                "and its subfolders). Pass a folder of images."
            )
        self.classes = sorted({f.parts[0] for f in self.files if len(f.parts) > 1})
        class_index = {name: i for i, name in enumerate(self.classes)}
        self.targets = [class_index[f.parts[0]] if len(f.parts) > 1 else 0 for f in self.files]
        self._load_first_readable(0)  # fails now, not mid-run, if no image can be read

    @property
    def is_labelled(self) -> bool:
        """Whether every image lies in a class subfolder, and there are at least two classes."""
        return len(self.classes) >= 2 and all(len(f.parts) > 1 for f in self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int, str]:
        found, image = self._load_first_readable(index)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[found], str(self.files[found])

    def _load_first_readable(self, index: int) -> tuple[int, Image.Image]:
        """The image at ``index``, or the next readable one (with a warning per skipped file),
        as ``(index of the file it came from, RGB image)``."""
        first_error = None
        for offset in range(len(self.files)):
            candidate = (index + offset) % len(self.files)
            path = self.root / self.files[candidate]
            try:
                with Image.open(path) as file:
                    file.load()
                    return candidate, pil_to_rgb(file)
            except _UNREADABLE as error:
                first_error = first_error or f"{path}: {error}"
                warnings.warn(
                    f"LightlyDataset: skipping {path}, which cannot be read as an image "
                    f"({error}). Remove or replace the file.",
                    stacklevel=3,
                )
        raise InputError(
            f"None of the {len(self.files)} image files in {self.root} can be read; the first "
            f"error was {first_error}."
        )
