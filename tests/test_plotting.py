import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from lightly_min.tutorials.plotting import (
    nearest_neighbours,
    plot_embedding,
    plot_history,
    plot_neighbours,
    plot_views,
    to_picture,
)

matplotlib.use("Agg")


def test_nearest_neighbours_by_cosine_similarity_by_hand():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    query = torch.tensor([[10.0, 1.0]])  # closest in angle: e0, then (1, 1), then e1, then -e0
    assert nearest_neighbours(query, bank, k=4).tolist() == [[0, 2, 1, 3]]
    assert nearest_neighbours(query, bank, k=10).shape == (1, 4)  # k capped at the bank


def test_to_picture_undoes_the_normalisation():
    normalize = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    pixels = torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1).expand(3, 2, 2)
    normalised = (pixels - 0.5) / 0.25
    assert np.allclose(to_picture(normalised, normalize), pixels.permute(1, 2, 0).numpy())
    assert to_picture(np.full((2, 2), 255, dtype=np.uint8)).max() == 1.0


def test_neighbour_grid_frames_other_classes_in_red():
    bank_images = np.zeros((3, 4, 4), dtype=np.uint8)
    bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    figure = plot_neighbours(
        bank_images[:1], torch.tensor([[1.0, 0.0]]), [0], bank_images, bank, [0, 1, 1], k=2
    )
    query_axis, first, second = figure.axes
    red = matplotlib.colors.to_rgba("red")
    assert first.spines["left"].get_edgecolor() != red  # bank 0: the same class
    assert second.spines["left"].get_edgecolor() == red  # bank 1: another class


def test_views_grid_has_the_image_and_each_view():
    def two_views(image):
        tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)
        return [tensor, tensor]

    images = [Image.new("RGB", (4, 4))] * 3
    assert len(plot_views(images, two_views).axes) == 3 * 3


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_draws_one_dot_per_image_per_class(method):
    features = torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    labels = [i % 4 for i in range(40)]
    (axis,) = plot_embedding(features, labels, method).axes
    assert sum(len(c.get_offsets()) for c in axis.collections) == 40
    assert len(axis.collections) == 4
    with pytest.raises(ValueError, match="'tsne' or 'pca'"):
        plot_embedding(features, labels, "umap")


def test_history_puts_epoch_zero_only_on_the_accuracy():
    history = {"loss": [0.5, 0.2], "z_std": [0.03, 0.03], "knn": [0.7, 0.8, 0.9]}
    loss, knn, z_std = plot_history(history, {"pixels": 0.85}, healthy_std=0.031).axes
    assert list(loss.lines[0].get_xdata()) == [1, 2]
    assert list(knn.lines[0].get_xdata()) == [0, 1, 2]
    assert list(z_std.lines[0].get_xdata()) == [1, 2]
