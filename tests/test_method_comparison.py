"""The "Which method?" page (docs/choosing.rst, built by docs/_ext/method_comparison.py): facts
for every method, in agreement with its example script, and prose that names no method.

The design facts are checked against examples/pytorch/<method>.py: its source (a prediction
head, a momentum update, the loss it imports) and one training step of its model
(how many views its transform makes), as the method diagrams' tests do.
"""

from __future__ import annotations

import ast
import re

import pytest
from examples_support import DOCS, EXAMPLES, method_facts, methods
from test_method_diagrams import training_step

METHODS = methods()
FACTS = method_facts()
PAGE = (DOCS / "choosing.rst").read_text()
SITUATIONS = set(re.findall(r"^\.\. method-advice:: (\w+)", PAGE, re.M)) - {"little_data"}


def source(method: str) -> str:
    return (EXAMPLES / "pytorch" / f"{method}.py").read_text()


def imported_losses(method: str) -> set[str]:
    return {
        alias.name
        for node in ast.walk(ast.parse(source(method)))
        if isinstance(node, ast.ImportFrom) and node.module == "lightly_min.loss"
        for alias in node.names
    }


def test_every_method_has_facts_and_advice_for_every_situation_on_the_page():
    assert SITUATIONS == {"small_batches", "many_gpus", "vit"}  # the page's own situations
    assert set(FACTS) == set(METHODS)
    keys = {"title", "paper", "negatives", "target", "predictor", "views", "backbone_passes",
            "batch_size", "distributed", "advice"}  # fmt: skip
    for method, facts in FACTS.items():
        assert keys <= set(facts), (method, keys - set(facts))
        for situation in SITUATIONS:
            advice = facts["advice"][situation]
            assert advice["fit"] in {"good", "poor"} and advice["why"], (method, situation)


@pytest.mark.parametrize("method", METHODS)
def test_a_predictor_is_listed_if_and_only_if_the_example_builds_one(method):
    assert FACTS[method]["predictor"] == ("PredictionHead(" in source(method))


@pytest.mark.parametrize("method", METHODS)
def test_a_momentum_target_is_listed_if_and_only_if_the_example_updates_one(method):
    assert ("momentum" in FACTS[method]["target"]) == ("update_momentum(" in source(method))


@pytest.mark.parametrize("method", METHODS)
def test_negatives_are_listed_if_and_only_if_the_loss_is_contrastive(method):
    contrastive = imported_losses(method) & {"NTXentLoss"}
    assert (FACTS[method]["negatives"] != "none") == bool(contrastive)
    # Gathering under DDP is named where the distributed example gathers, and it gathers
    # where the loss reads the whole batch: negatives, or statistics over the batch.
    distributed = (EXAMPLES / "pytorch_lightning_distributed" / f"{method}.py").read_text()
    gathers = "gather_distributed=True" in distributed
    assert ("gather_distributed=True" in FACTS[method]["distributed"]) == gathers
    batch_wide = imported_losses(method) & {"NTXentLoss", "BarlowTwinsLoss", "VICRegLoss"}
    assert gathers == bool(batch_wide)


@pytest.mark.parametrize("method", METHODS)
def test_the_number_of_views_is_what_the_examples_transform_makes(method):
    step = training_step(method)
    assert FACTS[method]["views"] == step.views
    passes = int(FACTS[method]["backbone_passes"].split()[0].rstrip(","))
    # The trained passes: one per view in the inputs of the loss that carry a gradient
    # (MoCo's keys come from its momentum encoder, without).
    assert passes == sum(step.trained)


def test_the_pages_prose_names_no_method():
    """Every method name on the page comes from the facts, so a new method needs no edit."""
    titles = [facts["title"] for facts in FACTS.values()] + ["DINO", "MoCo", "VICReg", "Barlow"]
    named = [title for title in titles if re.search(rf"\b{re.escape(title)}\b", PAGE)]
    assert not named
    assert not re.search(r"\b(two|three|four|five|six|seven|eight)\s+methods\b", PAGE)
