"""A diagram of each method, drawn at build time from ``docs/diagrams/<method>.toml``::

    .. method-diagram:: simsiam

The picture is an SVG written into the page (not an image file), so that it is made from the
data file in the repository and takes its colours from the theme: strokes and text use
``currentColor`` and CSS classes that ``_static/custom.css`` colours with furo's variables,
which furo switches between light and dark mode. Its ``<title>``, a sentence made from the
same data, is what a screen reader reads (``role="img"``).

Each branch is one row: the view, its boxes left to right, the output that reaches the loss.
Boxes with the same label in both rows are joined: a dotted line for shared weights, an arrow
for the momentum (exponential moving average) update of a target network. A stopped gradient
is a dashed frame around the output. ``docs/diagrams/README.md`` describes the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package (pyproject.toml)
    import tomli as tomllib

DIAGRAMS = Path(__file__).resolve().parents[1] / "diagrams"

# The layout, in viewBox units (the SVG scales to the column's width).
WIDTH, HEIGHT = 660, 220
ROWS = (62, 160)  # the centre of each branch's row
BOX_W, BOX_H, GAP = 110, 44, 18
FIRST_BOX = 70  # left edge of the first box; the view's name is left of it
OUTPUT_X = 478  # centre of the output's name
LOSS_X, LOSS_W, LOSS_Y, LOSS_H = 522, 134, 78, 66
LABEL_SIZE, CODE_SIZE, NOTE_SIZE = 12, 10, 10.5
WEIGHTS = {"shared": "shared weights", "momentum": "EMA update"}


def load(name: str) -> dict[str, Any]:
    """The diagram of method ``name``, checked: a ValueError says what is wrong."""
    path = DIAGRAMS / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"no diagram for {name!r}: {path} is missing")
    data = tomllib.loads(path.read_text())
    for key in ("method", "weights", "loss", "loss_code", "summary", "branch"):
        if key not in data:
            raise ValueError(f"{path}: {key!r} is missing")
    if data["weights"] not in WEIGHTS:
        raise ValueError(f"{path}: weights must be one of {sorted(WEIGHTS)}")
    if len(data["branch"]) != len(ROWS):
        raise ValueError(f"{path}: a diagram has {len(ROWS)} branches")
    for branch in data["branch"]:
        if not 1 <= len(branch.get("boxes", [])) <= 3 or "view" not in branch:
            raise ValueError(f"{path}: each branch needs a view and one to three boxes")
        for box in branch["boxes"]:
            if ("code" in box) == ("note" in box):
                raise ValueError(f"{path}: a box needs a code or a note, not both: {box}")
    # Words in the sans-serif font cannot be squeezed without looking stretched: they fit.
    boxes = [box for branch in data["branch"] for box in branch["boxes"]]
    texts = [(box["label"], LABEL_SIZE, BOX_W - 8) for box in boxes]
    texts += [(box["note"], NOTE_SIZE, BOX_W - 8) for box in boxes if "note" in box]
    texts += [(line, NOTE_SIZE, LOSS_W) for line in data.get("loss_note", [])]
    texts += [(branch["view"], LABEL_SIZE, FIRST_BOX - 14) for branch in data["branch"]]
    for text, size, room in texts:
        if text_width(text, size) > room:
            raise ValueError(f"{path}: {text!r} is too long for its place in the picture")
    return data


def views(data: dict[str, Any]) -> int:
    """How many views of each image the diagram shows."""
    return sum(branch.get("count", 1) for branch in data["branch"])


def joined_columns(data: dict[str, Any]) -> list[int]:
    """The columns whose box has the same label in both branches: one set of weights (shared)
    or a target box that follows its online box (momentum)."""
    first, second = (branch["boxes"] for branch in data["branch"])
    return [i for i, (a, b) in enumerate(zip(first, second)) if a["label"] == b["label"]]


def labels(boxes: list[dict[str, str]]) -> str:
    """'backbone, projection head and prediction head'."""
    names = [" ".join(filter(None, [box["label"], box.get("note")])) for box in boxes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(data: dict[str, Any]) -> str:
    """The diagram in words: its alt text."""
    parts = [f"Diagram of {data['method']} with {views(data)} views of each image."]
    for branch in data["branch"]:
        count = branch.get("count", 1)
        who = f"{'Views' if count > 1 else 'View'} {branch['view']}"
        name = f" ({branch['name']} network)" if "name" in branch else ""
        stopped = ", whose gradient is stopped" if branch.get("stop_gradient") else ""
        verb = "pass" if count > 1 else "passes"
        parts.append(
            f"{who}{name} {verb} through {labels(branch['boxes'])} to {branch['output']}{stopped}."
        )
    joined = [data["branch"][0]["boxes"][i] for i in joined_columns(data)]
    if data["weights"] == "shared":
        parts.append(f"The {labels(joined)} weights are shared by all views.")
    else:
        parts.append(
            f"The target's {labels(joined)} are an exponential moving average of the online "
            "network's."
        )
    outputs = " and ".join(branch["output"] for branch in data["branch"])
    note = " ".join(data.get("loss_note", []))
    parts.append(f"Loss: {data['loss']} of {outputs}" + (f", {note}." if note else "."))
    parts.append(data["summary"])
    return " ".join(parts)


def text_width(text: str, size: float, mono: bool = False) -> float:
    """An estimate of the text's width: the browser's font is not known here."""
    return len(text) * size * (0.6 if mono else 0.56)


def add_text(
    parent: ET.Element,
    x: float,
    y: float,
    text: str,
    size: float,
    css: str = "",
    fit: float | None = None,
) -> None:
    """Centred text in currentColor. Code (monospace, whose width is known) is squeezed to
    ``fit`` units if it would be wider; other text must fit by itself (see :func:`load`)."""
    mono = "md-code" in css.split()
    attrs = {"x": f"{x:g}", "y": f"{y:g}", "font-size": f"{size:g}", "text-anchor": "middle"}
    element = ET.SubElement(parent, "text", attrs, fill="currentColor")
    if css:
        element.set("class", css)
    element.text = text
    if fit is not None and mono and text_width(text, size, mono) > fit:
        element.set("textLength", f"{fit:g}")
        element.set("lengthAdjust", "spacingAndGlyphs")


def add_line(parent: ET.Element, points: list[tuple[float, float]], css: str, head: str | None):
    attrs = {"d": "M" + " L".join(f"{x:g},{y:g}" for x, y in points), "class": css}
    if head:
        attrs["marker-end"] = f"url(#{head})"
    ET.SubElement(parent, "path", attrs, fill="none", stroke="currentColor")


def add_rect(parent: ET.Element, x: float, y: float, w: float, h: float, css: str) -> None:
    ET.SubElement(
        parent,
        "rect",
        {"x": f"{x:g}", "y": f"{y:g}", "width": f"{w:g}", "height": f"{h:g}", "rx": "5"},
        fill="none",
        stroke="currentColor",
        **{"class": css},
    )


def add_marker(defs: ET.Element, marker_id: str, css: str) -> None:
    marker = ET.SubElement(
        defs,
        "marker",
        id=marker_id,
        viewBox="0 0 10 10",
        refX="9",
        refY="5",
        markerWidth="7",
        markerHeight="7",
        orient="auto-start-reverse",
    )
    ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "class": css}, fill="currentColor")


def box_x(column: int) -> float:
    return FIRST_BOX + column * (BOX_W + GAP)


def render_svg(name: str, data: dict[str, Any]) -> str:
    """The diagram as an SVG element, for the HTML page."""
    prefix = f"md-{name}"
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-labelledby": f"{prefix}-title",
        },
    )
    ET.SubElement(svg, "title", id=f"{prefix}-title").text = describe(data)
    defs = ET.SubElement(svg, "defs")
    add_marker(defs, f"{prefix}-arrow", "md-head")
    add_marker(defs, f"{prefix}-ema", "md-ema-head")
    arrow, ema = f"{prefix}-arrow", f"{prefix}-ema"

    loss_mid = LOSS_Y + LOSS_H / 2
    for row, (branch, y) in enumerate(zip(data["branch"], ROWS)):
        count = branch.get("count", 1)
        above = row == 0  # labels go on the outer side of each row
        add_text(svg, 28, y - 4, "views" if count > 1 else "view", NOTE_SIZE, "md-muted")
        add_text(svg, 28, y + 12, branch["view"], LABEL_SIZE)
        if "name" in branch:  # online or target
            name_y = y - BOX_H / 2 - 10 if above else y + BOX_H / 2 + 22
            add_text(svg, box_x(0) + BOX_W / 2, name_y, branch["name"], NOTE_SIZE, "md-branch")
        add_line(svg, [(54, y), (box_x(0) - 2, y)], "md-line", arrow)
        for column, box in enumerate(branch["boxes"]):
            x, top = box_x(column), y - BOX_H / 2
            stacked = 1 if box.get("once") else count  # "once": for all the views together
            for shift in range(stacked - 1, 0, -1):  # one outline behind per further view
                add_rect(svg, x + 4 * shift, top + 4 * shift, BOX_W, BOX_H, "md-box md-stack")
            add_rect(svg, x, top, BOX_W, BOX_H, "md-box")
            middle = x + BOX_W / 2
            add_text(svg, middle, y - 3, box["label"], LABEL_SIZE)
            if "code" in box:  # the name the example calls
                add_text(svg, middle, y + 13, box["code"], CODE_SIZE, "md-code", fit=BOX_W - 8)
            else:
                add_text(svg, middle, y + 13, box["note"], NOTE_SIZE, "md-muted")
            if column + 1 < len(branch["boxes"]):
                add_line(svg, [(x + BOX_W, y), (x + BOX_W + GAP - 2, y)], "md-line", arrow)
        end = box_x(len(branch["boxes"]) - 1) + BOX_W
        add_line(svg, [(end, y), (OUTPUT_X - 26, y)], "md-line", arrow)
        if branch.get("stop_gradient"):
            add_rect(svg, OUTPUT_X - 24, y - 14, 48, 26, "md-stopgrad")
            sg_y = y - 19 if above else y + 27
            add_text(svg, OUTPUT_X, sg_y, "stop-grad", NOTE_SIZE, "md-stopgrad-label")
        add_text(svg, OUTPUT_X, y + 5, branch["output"], LABEL_SIZE + 1)
        target_y = loss_mid + (-14 if above else 14)
        add_line(svg, [(OUTPUT_X + 24, y), (LOSS_X - 2, target_y)], "md-line", arrow)

    # What joins the two rows: one set of weights, or the momentum update.
    columns = joined_columns(data)
    top, bottom = ROWS[0] + BOX_H / 2, ROWS[1] - BOX_H / 2
    for column in columns:
        x = box_x(column) + BOX_W / 2
        if data["weights"] == "shared":
            add_line(svg, [(x, top + 2), (x, bottom - 2)], "md-shared", None)
        else:
            add_line(svg, [(x, top + 2), (x, bottom - 3)], "md-ema", ema)
    if columns:
        middle = (box_x(columns[0]) + box_x(columns[-1]) + BOX_W) / 2
        if len(columns) == 1:
            middle += BOX_W / 2 + 8
        css = "md-shared-label" if data["weights"] == "shared" else "md-ema-label"
        add_text(svg, middle, (top + bottom) / 2 + 4, WEIGHTS[data["weights"]], NOTE_SIZE, css)

    add_rect(svg, LOSS_X, LOSS_Y, LOSS_W, LOSS_H, "md-loss")
    lines = wrap(data["loss"], LOSS_W - 10, LABEL_SIZE)
    first = loss_mid - 8 * len(lines) + 6
    for i, line in enumerate(lines):
        add_text(svg, LOSS_X + LOSS_W / 2, first + 15 * i, line, LABEL_SIZE)
    middle = LOSS_X + LOSS_W / 2
    add_text(svg, middle, LOSS_Y + LOSS_H - 9, data["loss_code"], CODE_SIZE, "md-code", LOSS_W - 8)
    for i, line in enumerate(data.get("loss_note", [])):
        add_text(svg, middle, LOSS_Y + LOSS_H + 18 + 13 * i, line, NOTE_SIZE, "md-muted")
    ET.indent(svg, space="")
    return ET.tostring(svg, encoding="unicode")


def wrap(text: str, width: float, size: float) -> list[str]:
    """Words on as few lines as fit ``width``."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


class MethodDiagram(SphinxDirective):
    """``.. method-diagram:: NAME``: the diagram of ``docs/diagrams/NAME.toml``, inline."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        self.env.note_dependency(str(DIAGRAMS / f"{name}.toml"))
        self.env.note_dependency(__file__)  # a change to the drawing redraws the pages
        try:
            svg = render_svg(name, load(name))
        except (ValueError, tomllib.TOMLDecodeError) as error:
            raise self.error(f"method-diagram: {error}") from error
        html = f'<figure class="method-diagram">{svg}</figure>'
        return [nodes.raw("", html, format="html")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("method-diagram", MethodDiagram)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
