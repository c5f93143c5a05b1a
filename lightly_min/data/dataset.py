"""A dataset over a folder of image files, labelled or not."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset, default_collate
from torchvision.datasets.folder import IMG_EXTENSIONS

from lightly_min.errors import InputError
from lightly_min.transforms.rgb import pil_to_rgb

#: What PIL raises for a file it cannot decode: not an image, truncated, a broken chunk
#: (SyntaxError), or too many pixels (DecompressionBombError).
_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)

#: Folders that archivers and file managers add and that hold no images of the data set.
_IGNORED_FOLDERS = {"__MACOSX"}


def _is_hidden(name: str) -> bool:
    """``.DS_Store``, AppleDouble ``._photo.jpg`` files, ``.git``: never images of the set."""
    return name.startswith(".") or name in _IGNORED_FOLDERS


def _image_files(root: Path) -> tuple[list[Path], int]:
    """The image files under ``root`` (relative, sorted), following links to folders (each real
    folder once), without hidden files and folders; and the number of other files seen."""
    images, others, seen = [], 0, set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back to a folder already read
            subfolders.clear()
            continue
        seen.add(real)
        subfolders[:] = sorted(name for name in subfolders if not _is_hidden(name))
        for name in files:
            if _is_hidden(name):
                continue
            if Path(name).suffix.lower() in IMG_EXTENSIONS:
                images.append((Path(folder) / name).relative_to(root))
            else:
                others += 1
    return sorted(images), others


def _readable(path: Path) -> str | None:
    """None if PIL can read the image's header, else why not (a cheap check: a file whose
    pixels are broken further in is found, and skipped, when it is loaded)."""
    try:
        with Image.open(path) as file:
            file.size  # noqa: B018 (parses the header)
        return None
    except _UNREADABLE as error:
        return str(error) or type(error).__name__


class LightlyDataset(Dataset):
    """Every image file under ``input_dir``, searched recursively, in sorted order.

    Images in subfolders of ``input_dir`` get the subfolder's index (in sorted order) as their
    label; images directly in ``input_dir`` get label 0, so an unlabelled folder works as is.
    Files with other extensions are skipped, and so are hidden files and folders (names that
    start with a dot, e.g. macOS's ``.DS_Store`` and ``._*`` files) and ``__MACOSX`` folders.
    Links to folders are followed. Every image becomes RGB (grey, 16-bit grey, palette and
    RGBA images work: :func:`~lightly_min.transforms.rgb.pil_to_rgb`).

    A file that cannot be read is skipped, never replaced by another image: one whose header
    is broken (or that is empty) is left out when the dataset is made, with one warning that
    names it; one that fails later, while its pixels are decoded, gives ``None`` for that
    index, and :func:`skip_unreadable` (a DataLoader's ``collate_fn``) drops it from its batch.

    Args:
        input_dir: The folder to read.
        transform: Applied to each RGB PIL image, e.g. a multi-view transform.

    Raises:
        InputError: ``input_dir`` is missing or not a folder, holds no image files, or none of
            them can be read.

    Returns:
        Per index, ``(transform(image), label, path relative to input_dir)``, or ``None``.
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
        found, others = _image_files(root)
        if not found:
            what = f"{others} files, none of them an image" if others else "no files at all"
            raise InputError(
                f"{root} holds no images ({what}; looked for {', '.join(IMG_EXTENSIONS)} in it "
                "and its subfolders). Pass a folder of images."
            )
        self.files, self.skipped = [], []
        for file in found:
            problem = _readable(root / file)
            if problem is None:
                self.files.append(file)
            else:
                self.skipped.append(file)
                warnings.warn(
                    f"LightlyDataset: skipping {root / file}, which cannot be read as an image "
                    f"({problem}). Remove or replace the file.",
                    stacklevel=2,
                )
        if not self.files:
            raise InputError(
                f"None of the {len(found)} image files in {root} can be read; the first is "
                f"{root / found[0]}."
            )
        self.classes = sorted({f.parts[0] for f in self.files if len(f.parts) > 1})
        class_index = {name: i for i, name in enumerate(self.classes)}
        self.targets = [class_index[f.parts[0]] if len(f.parts) > 1 else 0 for f in self.files]

    @property
    def loose_files(self) -> list[Path]:
        """The images directly in ``input_dir``, outside any class subfolder."""
        return [f for f in self.files if len(f.parts) == 1]

    @property
    def is_labelled(self) -> bool:
        """Whether every image lies in a class subfolder, and there are at least two classes."""
        return len(self.classes) >= 2 and not self.loose_files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int, str] | None:
        path = self.root / self.files[index]
        try:
            with Image.open(path) as file:
                file.load()
                image = pil_to_rgb(file)
        except _UNREADABLE as error:
            warnings.warn(
                f"LightlyDataset: skipping {path}, which cannot be read as an image ({error}). "
                "Remove or replace the file.",
                stacklevel=2,
            )
            return None
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[index], str(self.files[index])


def skip_unreadable(batch: Sequence[Any]) -> Any:
    """``default_collate`` of the items that are not ``None`` (images that could not be read,
    see :class:`LightlyDataset`): the batch is one image shorter for each."""
    return default_collate([item for item in batch if item is not None])
