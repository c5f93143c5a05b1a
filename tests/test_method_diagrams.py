"""The method diagrams (docs/diagrams/<method>.toml, drawn by docs/_ext/method_diagram.py):
one per method, on its page, in agreement with the example script, and an SVG that dark mode
can colour.

What a diagram claims is checked against examples/pytorch/<method>.py itself: its source (the
classes and functions it calls, the loss it imports) and one training step of its model on a
tiny batch (which tensors reaching the loss carry a gradient, how many views the transform
makes, whether some weights are frozen).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from examples_support import DOCS, EXAMPLES, methods

METHODS = methods()
SVG = "{http://www.w3.org/2000/svg}"
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def extension() -> ModuleType:
    return load_module("lightly_min_docs.method_diagram", DOCS / "_ext" / "method_diagram.py")


def diagram(method: str) -> dict:
    return extension().load(method)


def example_path(method: str) -> Path:
    return EXAMPLES / "pytorch" / f"{method}.py"


def example_tree(method: str) -> ast.Module:
    return ast.parse(example_path(method).read_text())


def called_names(method: str) -> set[str]:
    """Every function or class the example calls, by its last name (``resnet18`` for
    ``torchvision.models.resnet18()``)."""
    names = set()
    for node in ast.walk(example_tree(method)):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def main_assignment(method: str, target: str) -> ast.expr:
    """The expression that ``main()`` assigns to ``target`` (``transform``, ``criterion``)."""
    main = next(
        node
        for node in example_tree(method).body
        if isinstance(node, ast.FunctionDef) and node.name == "main"
    )
    for node in ast.walk(main):
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [target]:
            return node.value
    raise AssertionError(f"main() of {method}.py assigns no {target}")


def evaluate(method: str, expression: ast.expr, module: ModuleType):
    """The expression, evaluated in the example's namespace with 32-pixel crops."""
    code = compile(ast.Expression(expression), str(example_path(method)), "eval")
    return eval(code, vars(module), {"args": SimpleNamespace(input_size=32)})


@cache
def training_step(method: str) -> SimpleNamespace:
    """One training step of the example on two random images: how many views the
    transform made, for each call of the loss whether each input carries a gradient, and
    whether the model has frozen parameters."""
    import numpy as np
    import torch
    import torchvision
    from PIL import Image

    module = load_module(f"diagram_example_{method}", example_path(method))
    transform = evaluate(method, main_assignment(method, "transform"), module)
    criterion = evaluate(method, main_assignment(method, "criterion"), module)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)) for _ in "ab"]
    per_image = [transform(image) for image in images]
    views = [torch.stack(pair) for pair in zip(*per_image)]

    (model_class,) = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, torch.nn.Module)
    ]
    backbone = torchvision.models.resnet18()
    backbone.fc = torch.nn.Identity()
    torch.manual_seed(0)
    model = model_class(backbone).train()

    calls, trained = [], []  # per call of the loss: inputs with gradients, views trained
    # The trained branch first, as the diagrams draw it: DINOLoss takes the teacher first.
    teacher_first = list(inspect.signature(type(criterion).forward).parameters)[1] == "teacher_out"

    class Recording:
        """The criterion, recording whether each input (a tensor, or a list of the views'
        tensors) carries a gradient."""

        def __call__(self, *inputs, **options):
            grads = [
                all(t.requires_grad for t in x) if isinstance(x, list) else x.requires_grad
                for x in inputs
            ]
            calls.append(grads[::-1] if teacher_first else grads)
            views = [len(x) if isinstance(x, list) else 1 for x in inputs]
            trained.append(sum(n for n, grad in zip(views, grads) if grad))
            return criterion(*inputs, **options)

        def __getattr__(self, name):  # the loss's center, temperature, ...
            return getattr(criterion, name)

    given = {"model": model, "criterion": Recording(), "views": views, "momentum": 0.99}
    given.update(x0=views[0], x1=views[-1], epoch=0)
    parameters = inspect.signature(module.training_step).parameters
    module.training_step(**{name: given[name] for name in parameters})
    frozen = any(not p.requires_grad for p in model.parameters())
    return SimpleNamespace(
        views=len(views), calls=calls, trained=trained, frozen=frozen, criterion=criterion
    )


def boxes(method: str) -> list[dict]:
    return [box for branch in diagram(method)["branch"] for box in branch["boxes"]]


# ---- one per method, on its page ----------------------------------------------------------


def test_every_method_has_a_diagram_and_no_diagram_lacks_a_method():
    drawn = sorted(path.stem for path in (DOCS / "diagrams").glob("*.toml"))
    assert drawn == METHODS


@pytest.mark.parametrize("method", METHODS)
def test_the_method_page_shows_its_diagram_first_under_key_components(method):
    text = (DOCS / "methods" / f"{method}.rst").read_text()
    assert text.count(".. method-diagram::") == 1
    pattern = rf"\nKey Components\n-+\n\n\.\. method-diagram:: {method}\n\n- "
    assert re.search(pattern, text), "the diagram should open Key Components, before its list"


# ---- what it shows agrees with the example ------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_box_names_something_the_example_calls(method):
    codes = {box["code"] for box in boxes(method) if "code" in box}
    assert codes <= called_names(method)


@pytest.mark.parametrize("method", METHODS)
def test_a_prediction_head_is_drawn_if_and_only_if_the_example_builds_one(method):
    drawn = any(box["label"] == "prediction head" for box in boxes(method))
    built = any(name.endswith("PredictionHead") for name in called_names(method))
    assert drawn == built


@pytest.mark.parametrize("method", METHODS)
def test_a_momentum_target_is_drawn_if_and_only_if_the_example_updates_one(method):
    data = diagram(method)
    updates = [
        node
        for node in ast.walk(example_tree(method))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "update_momentum"
    ]
    assert (data["weights"] == "momentum") == bool(updates)
    # Frozen weights are the target's; with shared weights every view trains the one encoder.
    assert (data["weights"] == "momentum") == training_step(method).frozen
    if updates:  # the boxes joined by the EMA arrow are exactly the modules updated
        updated = {
            ast.unparse(call.args[0]).removeprefix("model.").removeprefix("student_")
            for call in updates
        }
        first = data["branch"][0]["boxes"]
        joined = {first[i]["label"].replace(" ", "_") for i in extension().joined_columns(data)}
        assert joined == updated


@pytest.mark.parametrize("method", METHODS)
def test_a_stop_gradient_is_drawn_if_and_only_if_an_input_of_the_loss_has_no_gradient(method):
    data = diagram(method)
    calls = training_step(method).calls
    assert calls
    stopped_in_diagram = [branch.get("stop_gradient", False) for branch in data["branch"]]
    for carries_gradient in calls:  # each call of the loss: one input per branch
        assert [not g for g in carries_gradient] == stopped_in_diagram


@pytest.mark.parametrize("method", METHODS)
def test_the_number_of_views_is_the_transforms_and_the_pages(method):
    shown = extension().views(diagram(method))
    assert shown == training_step(method).views
    page = (DOCS / "methods" / f"{method}.rst").read_text()
    stated = {NUMBERS[word] for word in re.findall(r"makes\s+(\w+)\s+views", page)}
    assert stated == {shown}


@pytest.mark.parametrize("method", METHODS)
def test_the_loss_is_the_one_the_example_imports_and_uses(method):
    imported = {
        alias.name
        for node in ast.walk(example_tree(method))
        if isinstance(node, ast.ImportFrom) and node.module == "lightly_min.loss"
        for alias in node.names
    }
    loss = diagram(method)["loss_code"]
    assert imported == {loss}
    assert type(training_step(method).criterion).__name__ == loss


# ---- the SVG ------------------------------------------------------------------------------


def svg(method: str) -> ET.Element:
    return ET.fromstring(extension().render_svg(method, diagram(method)))


@pytest.mark.parametrize("method", METHODS)
def test_the_svg_is_an_image_with_a_title_in_words(method):
    root = svg(method)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert root.get("aria-labelledby") == title.get("id")
    text = title.text
    data = diagram(method)
    assert data["method"] in text and data["loss"] in text
    assert all(box["label"] in text for box in boxes(method))
    width, height = map(float, root.get("viewBox").split()[2:])
    assert width <= 700 and height <= 250  # a small picture, scaled by CSS


@pytest.mark.parametrize("method", METHODS)
def test_the_svg_takes_its_colours_from_the_theme(method):
    """No colour is written into the SVG: text and lines are currentColor, or a class that
    custom.css colours with furo's variables (which change in dark mode)."""
    css = (DOCS / "_static" / "custom.css").read_text()
    for element in svg(method).iter():
        assert element.get("style") is None
        for attribute in ("fill", "stroke", "color"):
            assert element.get(attribute) in (None, "none", "currentColor"), element.tag
        for name in (element.get("class") or "").split():
            assert re.search(rf"\.{name}\b", css), f"custom.css does not style .{name}"
    texts = list(svg(method).iter(f"{SVG}text"))
    assert texts and all(t.get("fill") == "currentColor" for t in texts)


@pytest.mark.parametrize("method", METHODS)
def test_the_svg_marks_each_stopped_gradient_and_the_momentum_update(method):
    data = diagram(method)
    classes = [(element.get("class") or "").split() for element in svg(method).iter()]
    stopped = sum(branch.get("stop_gradient", False) for branch in data["branch"])
    assert sum("md-stopgrad" in c for c in classes) == stopped
    assert any("md-ema" in c for c in classes) == (data["weights"] == "momentum")
    assert any("md-shared" in c for c in classes) == (data["weights"] == "shared")


def test_an_unknown_method_is_an_error_that_names_the_file():
    with pytest.raises(ValueError, match="no_such_method.toml"):
        extension().load("no_such_method")
