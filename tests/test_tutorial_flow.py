"""The tutorials' shared course (lightly_min.tutorials.flow and .settings), on a few synthetic
digits and a tiny backbone: what it records is what it draws, and evaluating changes nothing."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from lightly_min.tutorials import flow
from lightly_min.tutorials.digits import DigitSplit
from lightly_min.tutorials.settings import STORED_OUTPUTS, read_settings

matplotlib.use("Agg")


def synthetic_split(train_per_class: int = 4, test_per_class: int = 2) -> DigitSplit:
    """Ten classes of 28x28 uint8 images, each class a brighter square at its own place."""
    rng = np.random.default_rng(0)

    def images(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(10), per_class)
        pictures = rng.integers(0, 40, size=(len(labels), 28, 28)).astype(np.uint8)
        for picture, label in zip(pictures, labels):
            row, column = divmod(int(label), 5)
            picture[row * 12 : row * 12 + 10, column * 5 : column * 5 + 5] = 255
        return pictures, labels

    return DigitSplit(*images(train_per_class), *images(test_per_class))


@pytest.fixture
def tutorial(monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTLY_MIN_SMOKE", "1")
    monkeypatch.setenv("LIGHTLY_MIN_RESULTS", str(tmp_path / "results.json"))
    monkeypatch.delenv("LIGHTLY_MIN_RUN_TUTORIALS", raising=False)
    monkeypatch.setattr(flow, "load_digits", lambda *per_class: synthetic_split())
    return flow.DigitsTutorial("toy", "Toy", epochs=50, batch_size=500)


def tiny_backbone() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(),
    )  # fmt: skip


def test_settings_read_the_environment(monkeypatch, tmp_path):
    for name in ("LIGHTLY_MIN_SMOKE", "LIGHTLY_MIN_SEED", "LIGHTLY_MIN_RESULTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LIGHTLY_MIN_RUN_TUTORIALS", raising=False)
    full = read_settings("simsiam_digits", 60, 128)
    assert (full.smoke, full.seed, full.epochs, full.batch_size) == (False, 0, 60, 128)
    assert full.per_class == (400, 100) and full.results is None and full.run_data is None
    monkeypatch.setenv("LIGHTLY_MIN_RUN_TUTORIALS", "1")
    monkeypatch.setenv("LIGHTLY_MIN_SEED", "2")
    stored = read_settings("simsiam_digits", 60, 128)
    assert stored.run_data == STORED_OUTPUTS / "simsiam_digits.run_data.json"
    assert stored.seed == 2
    monkeypatch.setenv("LIGHTLY_MIN_SMOKE", "1")
    monkeypatch.setenv("LIGHTLY_MIN_RESULTS", str(tmp_path / "r.json"))
    smoke = read_settings("simsiam_digits", 60, 128)
    assert smoke.epochs < 60 and smoke.batch_size < 128 and smoke.per_class < (400, 100)
    assert smoke.run_data is None  # a smoke run never overwrites the stored run data
    assert smoke.results == tmp_path / "r.json"


def test_training_yields_each_epoch_and_records_loss_monitor_and_knn(tutorial):
    backbone = tiny_backbone()
    tutorial.measure_baselines(backbone)
    assert tutorial.history["knn"] == [tutorial.random_init.knn]
    epochs = []
    for epoch in tutorial.training(backbone):
        epochs.append(epoch)
        for value in (1.0, 3.0):  # two steps: the epoch's loss is their mean
            tutorial.record(torch.tensor(value), torch.eye(4))
    assert epochs == list(range(tutorial.epochs))
    assert tutorial.history["loss"] == [2.0] * tutorial.epochs
    expected_std = torch.eye(4).std(dim=0).mean().item()
    assert tutorial.history["z_std"] == pytest.approx([expected_std] * tutorial.epochs)
    assert len(tutorial.history["knn"]) == tutorial.epochs + 1


def test_an_epoch_without_recorded_steps_is_an_error(tutorial):
    tutorial.measure_baselines(tiny_backbone())
    with pytest.raises(RuntimeError, match="tutorial.record"):
        for _ in tutorial.training(tiny_backbone()):
            pass


def test_pictures_and_report_change_nothing_in_the_model(tutorial):
    backbone = tiny_backbone().train()
    tutorial.measure_baselines(backbone)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    tutorial.plot_neighbours(backbone, "after training")
    tutorial.plot_map(backbone)
    tutorial.report(backbone)
    after = backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm statistics too
    assert backbone.training


def test_the_recorded_grid_is_the_drawn_grid(tutorial):
    """The run data's labels are those of the digits in the picture: one red frame for each
    neighbour whose label differs from its query's."""
    backbone = tiny_backbone()
    figure = tutorial.plot_neighbours(backbone, "before training")
    grid = tutorial.grids["before training"]
    assert grid["query_labels"] == list(range(10))
    split = tutorial.split
    assert split.train_labels[grid["neighbour_index"]].tolist() == grid["neighbour_labels"]
    assert split.test_labels[grid["query_index"]].tolist() == grid["query_labels"]
    red = matplotlib.colors.to_rgba("red")
    framed = sum(axis.spines["left"].get_edgecolor() == red for axis in figure.axes)
    wrong = sum(
        label != query
        for query, row in zip(grid["query_labels"], grid["neighbour_labels"])
        for label in row
    )
    assert framed == wrong


def test_report_writes_numbers_history_and_neighbours(tutorial, tmp_path):
    backbone = tiny_backbone()
    tutorial.measure_baselines(backbone)
    for _ in tutorial.training(backbone):
        tutorial.record(torch.tensor(0.5), torch.randn(4, 3))
    tutorial.plot_neighbours(backbone, "after training")
    results = tutorial.report(backbone)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert written["method"] == "toy" and written["epochs"] == tutorial.epochs
    assert set(written["trained"]) == {"knn", "linear_probe"}
    assert written["trained"]["knn"] == tutorial.evaluate(backbone).knn
    assert list(written["neighbours"]) == ["after training"]


def test_train_loader_gives_views_on_the_device_and_drops_the_partial_batch(tutorial):
    def two_views(image):
        tensor = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
        return [tensor, tensor]

    loader = tutorial.train_loader(two_views)
    batches = list(loader)
    assert len(batches) == len(loader) == 40 // tutorial.batch_size  # 40 digits
    (x0, x1), labels = batches[0]
    assert x0.shape == (tutorial.batch_size, 3, 32, 32) and x0.device.type == tutorial.device
