"""A dataset over a folder of image files, labelled or not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS


class LightlyDataset(Dataset):
    """Every image file under ``input_dir``, searched recursively, in sorted order.

    Images in subfolders of ``input_dir`` get the subfolder's index (in sorted order) as their
    label; images directly in ``input_dir`` get label 0, so an unlabelled folder works as is.
    Files with other extensions are skipped.

    Args:
        input_dir: The folder to read.
        transform: Applied to each RGB PIL image, e.g. a multi-view transform.

    Returns:
        Per index, ``(transform(image), label, path relative to input_dir)``.
    """

    def __init__(
        self, input_dir: str | Path, transform: Callable[[Image.Image], Any] | None = None
    ):
        root = Path(input_dir)
        if not root.is_dir():
            raise FileNotFoundError(
                f"LightlyDataset: {root} is not a folder. Pass a folder of images."
            )
        self.root = root
        self.transform = transform
        self.files = sorted(
            path.relative_to(root)
            for path in root.rglob("*")
            if path.suffix.lower() in IMG_EXTENSIONS and path.is_file()
        )
        if not self.files:
            raise FileNotFoundError(
                f"LightlyDataset: no images in {root} or its subfolders (looked for "
                f"{', '.join(IMG_EXTENSIONS)})."
            )
        self.classes = sorted({f.parts[0] for f in self.files if len(f.parts) > 1})
        class_index = {name: i for i, name in enumerate(self.classes)}
        self.targets = [class_index[f.parts[0]] if len(f.parts) > 1 else 0 for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int, str]:
        path = self.root / self.files[index]
        try:
            with Image.open(path) as file:
                image = file.convert("RGB")
        except (OSError, UnidentifiedImageError) as error:
            raise RuntimeError(f"LightlyDataset: cannot read image {path}: {error}") from error
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[index], str(self.files[index])
