"""Pictures of what a self-supervised model sees and learns, for the tutorials.

Needs matplotlib (and scikit-learn for :func:`plot_embedding`): ``pip install
"lightly_min[tutorials]"``. Each function returns a matplotlib ``Figure``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            'Plotting needs matplotlib: pip install matplotlib (or "lightly_min[tutorials]").'
        ) from None
    return plt


def to_picture(image: Any, normalize: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """An image as an array matplotlib shows: ``(H, W)`` grey or ``(H, W, 3)`` in [0, 1].

    Accepts a PIL image, a uint8 array ``(H, W[, 3])``, or a float tensor ``(3, H, W)``; a
    tensor normalised with ``normalize`` (``{"mean": [...], "std": [...]}``) is un-normalised.
    """
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu()
        if normalize is not None:
            mean = torch.tensor(normalize["mean"]).view(-1, 1, 1)
            std = torch.tensor(normalize["std"]).view(-1, 1, 1)
            image = image * std + mean
        return image.permute(1, 2, 0).clamp(0, 1).numpy()
    array = np.asarray(image)
    return array.astype(np.float64) / 255 if array.dtype == np.uint8 else array


def _show(axis: Any, image: Any, normalize: Mapping[str, Sequence[float]] | None = None) -> None:
    picture = to_picture(image, normalize)
    axis.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])


def plot_views(
    images: Sequence[Any],
    transform: Callable[[Any], Sequence[torch.Tensor]],
    normalize: Mapping[str, Sequence[float]] | None = None,
    title: str = "",
) -> Any:
    """Each image (a row) next to the views that a multi-view ``transform`` makes of it, under
    ``title`` (also the picture's alt text in the docs).

    Args:
        images: PIL images, as the transform takes them.
        transform: A multi-view transform, e.g. ``SimSiamTransform``: image -> list of views.
        normalize: The transform's normalisation, undone for display.
    """
    plt = _pyplot()
    rows = [list(transform(image)) for image in images]
    columns = 1 + len(rows[0])
    figure, axes = plt.subplots(
        len(images), columns, figsize=(1.3 * columns, 1.3 * len(images)), squeeze=False
    )
    for row, (image, views) in enumerate(zip(images, rows)):
        _show(axes[row, 0], image)
        for column, view in enumerate(views, start=1):
            _show(axes[row, column], view, normalize)
    axes[0, 0].set_title("image", fontsize=9)
    for column in range(1, columns):
        axes[0, column].set_title(f"view {column}", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def nearest_neighbours(
    query_features: torch.Tensor, bank_features: torch.Tensor, k: int
) -> torch.Tensor:
    """Indices ``(Q, k)`` of the ``k`` bank features most cosine-similar to each query, most
    similar first. Features are ``(Q, D)`` and ``(N, D)``."""
    similarity = (
        F.normalize(query_features.float(), dim=1) @ F.normalize(bank_features.float(), dim=1).T
    )
    return similarity.topk(min(k, len(bank_features)), dim=1).indices


def plot_neighbours(
    query_images: Sequence[Any],
    query_features: torch.Tensor,
    query_labels: Sequence[int],
    bank_images: Sequence[Any],
    bank_features: torch.Tensor,
    bank_labels: Sequence[int],
    k: int = 5,
    title: str = "",
) -> Any:
    """Each query image (a row) and its ``k`` nearest bank images by cosine similarity of the
    features. A neighbour of another class than the query gets a red frame."""
    plt = _pyplot()
    neighbours = nearest_neighbours(query_features, bank_features, k)
    columns = 1 + neighbours.shape[1]
    figure, axes = plt.subplots(
        len(query_images), columns, figsize=(1.2 * columns, 1.2 * len(query_images)),
        squeeze=False,
    )  # fmt: skip
    for row, (image, label, found) in enumerate(zip(query_images, query_labels, neighbours)):
        _show(axes[row, 0], image)
        for column, index in enumerate(found.tolist(), start=1):
            axis = axes[row, column]
            _show(axis, bank_images[index])
            if bank_labels[index] != label:
                for spine in axis.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(3)
    axes[0, 0].set_title("query", fontsize=9)
    for column in range(1, columns):
        axes[0, column].set_title(f"#{column}", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_embedding(
    features: torch.Tensor, labels: Sequence[int], method: str = "tsne", seed: int = 0,
    title: str = "",
) -> Any:  # fmt: skip
    """A 2-D map of features ``(N, D)``, one dot per image, coloured by class.

    ``method`` is ``"tsne"`` (scikit-learn's t-SNE: neighbourhoods kept, distances between
    clusters not meaningful) or ``"pca"`` (the two directions of largest variance).
    """
    plt = _pyplot()
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in ("tsne", "pca"):
        raise ValueError(f"plot_embedding: method must be 'tsne' or 'pca', got {method!r}.")
    points = F.normalize(features.float(), dim=1).cpu().numpy()
    if method == "pca":
        xy = PCA(n_components=2, random_state=seed).fit_transform(points)
    else:
        perplexity = min(30.0, (len(points) - 1) / 3)
        xy = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)
    labels = np.asarray(labels)
    figure, axis = plt.subplots(figsize=(5.5, 5))
    colours = plt.get_cmap("tab10")
    for label in np.unique(labels):
        at = labels == label
        axis.scatter(xy[at, 0], xy[at, 1], s=6, color=colours(int(label) % 10), label=str(label))
    axis.legend(markerscale=3, fontsize=8, loc="best", ncols=2)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title or ("t-SNE" if method == "tsne" else "PCA"), fontsize=10)
    figure.tight_layout()
    return figure


def plot_history(
    history: Mapping[str, Sequence[float]],
    baselines: Mapping[str, float] | None = None,
    healthy_std: float | None = None,
    title: str = "",
    monitor: str = "z_std",
    references: Mapping[str, float] | None = None,
) -> Any:
    """Training curves side by side: ``history["loss"]`` and ``history[monitor]`` (the collapse
    monitor: by default ``z_std`` with ``healthy_std`` dashed; another monitor with its
    ``references``, e.g. ``{"uniform: ln K": 6.93}``, dashed) for epochs 1, 2, ..., and
    ``history["knn"]`` (the held-out kNN accuracy, with ``history["teacher_knn"]`` where there
    is one, and ``baselines`` such as ``{"raw pixels": 0.93}`` dashed) for epochs 0, 1, ...,
    where epoch 0 is the network before training; ``title`` above them."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    monitor_title = (
        "collapse monitor: std of z / |z|"
        if monitor == "z_std"
        else f"collapse monitor: {monitor.replace('_', ' ')}"
    )
    panels = [
        ("training loss", history["loss"], 1),
        ("held-out kNN accuracy", history["knn"], 0),
        (monitor_title, history[monitor], 1),
    ]
    for axis, (name, values, first_epoch) in zip(axes, panels):
        epochs = range(first_epoch, first_epoch + len(values))
        label = "student" if name.startswith("held-out") and "teacher_knn" in history else None
        axis.plot(epochs, values, marker="o", markersize=3, label=label)
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("epoch")
    if "teacher_knn" in history:
        teacher = history["teacher_knn"]
        axes[1].plot(range(len(teacher)), teacher, marker="s", markersize=3, label="teacher")
    styles = iter(["--", ":", "-."])
    for name, value in (baselines or {}).items():
        axes[1].axhline(value, linestyle=next(styles), color="grey", label=name)
    if baselines or "teacher_knn" in history:
        axes[1].legend(fontsize=8, loc="lower right")
    if healthy_std is not None:
        axes[2].axhline(healthy_std, linestyle="--", color="grey", label="healthy: 1/sqrt(d)")
        axes[2].set_ylim(0, 1.5 * max(healthy_std, *history["z_std"]))
        axes[2].legend(fontsize=8, loc="lower right")
    styles = iter(["--", ":", "-."])
    for name, value in (references or {}).items():
        axes[2].axhline(value, linestyle=next(styles), color="grey", label=name)
    if references:
        axes[2].legend(fontsize=8, loc="center right")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
