"""The built site (nox -s docs): method pages' tabs in the HTML, then in headless Chromium.

Needs LIGHTLY_MIN_DOCS_HTML, the folder of the HTML build. The browser tests need Debian's
/usr/bin/chromium; they skip without it, unless LIGHTLY_MIN_REQUIRE_BROWSER is set (CI).
"""

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from examples_support import EXAMPLES, ROOT, methods, notebooks

pytestmark = pytest.mark.docs_build

METHODS = methods()
TABS = {
    "PyTorch": "pytorch",
    "Lightning": "pytorch_lightning",
    "Lightning Distributed": "pytorch_lightning_distributed",
}
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"


@pytest.fixture(scope="module")
def html_dir() -> Path:
    folder = os.environ.get("LIGHTLY_MIN_DOCS_HTML")
    if not folder or not (Path(folder) / "index.html").is_file():
        pytest.fail("No built docs: set LIGHTLY_MIN_DOCS_HTML to the HTML build (nox -s docs).")
    return Path(folder)


def example_text(method: str, label: str) -> str:
    return (EXAMPLES / TABS[label] / f"{method}.py").read_text()


@pytest.mark.parametrize("method", METHODS)
def test_method_page_has_three_tabs_showing_the_whole_example_files(method, html_dir):
    page = BeautifulSoup((html_dir / "methods" / f"{method}.html").read_text(), "html.parser")
    (tabs,) = page.select("div.sphinx-tabs")
    buttons = tabs.select("button.sphinx-tabs-tab")
    assert [b.get_text(strip=True) for b in buttons] == list(TABS)
    assert all("group-tab" in b["class"] for b in buttons)  # the choice syncs across pages
    for button in buttons:
        label = button.get_text(strip=True)
        panel = tabs.find(id=button["aria-controls"])
        caption = panel.select_one(".code-block-caption .caption-text").get_text()
        assert caption == f"examples/{TABS[label]}/{method}.py"
        code = panel.select_one(".literal-block-wrapper div.highlight pre").get_text()
        assert code == example_text(method, label)
        command = panel.select("div.highlight-console pre")[0].get_text()
        assert f"examples/{TABS[label]}/{method}.py" in command
        (notebook,) = panel.select(".notebook-links a.download")
        expected = notebooks().notebook_path(EXAMPLES / TABS[label] / f"{method}.py")
        assert notebook["href"].endswith(f"/{expected.name}")
        downloaded = html_dir / "methods" / notebook["href"]
        assert downloaded.read_text() == expected.read_text()
        assert not panel.select("img.colab-badge")  # no public repository URL is configured


@pytest.mark.parametrize("method", METHODS)
def test_method_page_shows_its_tutorials_pictures_before_the_code(method, html_dir):
    page = BeautifulSoup((html_dir / "methods" / f"{method}.html").read_text(), "html.parser")
    section = page.find(id="tutorial")
    link = section.select_one(f'a[href="../tutorials/{method}_digits.html#tutorial-{method}"]')
    assert link is not None
    images = [img["src"] for img in section.select("img")]
    assert images and all((html_dir / "methods" / src).is_file() for src in images)
    code = page.find(id="code")
    assert section.sourceline < code.sourceline


@pytest.mark.parametrize("method", METHODS)
def test_tutorial_page_has_its_pictures_numbers_and_notebook(method, html_dir):
    path = html_dir / "tutorials" / f"{method}_digits.html"
    page = BeautifulSoup(path.read_text(), "html.parser")
    assert len(page.select("img.sphx-glr-single-img, img.sphx-glr-multi-img")) >= 5
    assert all((path.parent / img["src"]).is_file() for img in page.select("img"))
    assert "held-out accuracy" in page.get_text()
    notebooks = {a["href"].rsplit("/", 1)[-1] for a in page.select("a.download")}
    assert f"{method}_digits.ipynb" in notebooks and f"{method}_digits.py" in notebooks


@pytest.mark.parametrize("method", METHODS)
def test_method_page_opens_key_components_with_its_diagram(method, html_dir):
    page = BeautifulSoup((html_dir / "methods" / f"{method}.html").read_text(), "html.parser")
    section = page.find(id="key-components")
    (figure,) = page.select("figure.method-diagram")
    assert section in figure.parents
    svg = figure.find("svg")
    assert svg["role"] == "img" and len(svg.find("title").get_text()) > 100
    assert figure.sourceline < section.find("ul").sourceline


def test_the_which_method_page_has_a_row_per_method_with_its_measured_numbers(html_dir):
    """Each table of the comparison page has one row per method, linking to its page; the
    measured table shows results.json's means and standard deviations, and lightly's figure
    from the facts file."""
    import json

    from examples_support import method_facts

    results = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    facts = method_facts()
    page = BeautifulSoup((html_dir / "choosing.html").read_text(), "html.parser")
    tables = page.select("table.method-comparison")
    assert len(tables) == 3
    for table in tables:
        links = [row.find("a")["href"] for row in table("tr")[1:] if row.find("a")]
        assert sorted(links) == [f"methods/{method}.html" for method in sorted(METHODS)]

    def shown(value):
        return f"{value['mean']:.3f} ± {value['std']:.3f}"

    def published(knn):  # lightly's figure, where lightly publishes one (VICReg: none)
        return "not published" if knn is None else f"{knn:.3f}"

    rows = {
        row.find("a")["href"]: [cell.get_text(strip=True) for cell in row("td")]
        for row in tables[2]("tr")[1:]
        if row.find("a")
    }
    for method in set(METHODS) - set(results["learning"]["methods"]):  # tuned, no row yet
        best = best_logged_run(method)
        if best is None:
            assert rows[f"methods/{method}.html"][1:3] == ["not run", "not run"]
            continue
        cells = rows[f"methods/{method}.html"]
        assert cells[1] == str(best["epochs"]) and cells[2].startswith(f"{best['knn']:.3f} (")
        assert f"best tuning run, {best['name']}, one seed" in cells[2]
        assert ("not learning yet" in cells[2]) == (best["knn"] < best["random_init_knn"] + 0.05)
    for method, entry in results["learning"]["methods"].items():
        s = entry["summary"]
        one = s["label_efficiency"]["trained"]["1"]["linear_probe"]
        cells = rows[f"methods/{method}.html"]
        assert cells[1:] == [
            str(s["epochs"]), shown(s["trained_knn"]), shown(s["trained_linear_probe"]),
            shown(one), published(facts[method].get("lightly_cifar10_knn")),
        ]  # fmt: skip
    advice = page.select("div.method-advice")
    assert len(advice) == 4 and all(len(block.select("li a")) == len(METHODS) for block in advice)


def best_logged_run(method: str) -> dict | None:
    """The finished run of the tuning sweep with the highest final kNN, read from the log
    here, without the docs' code."""
    import json

    log = ROOT / "benchmarks" / "results" / "tuning_log.jsonl"
    runs = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    runs = [r for r in runs if r.get("method") == method and r.get("status") == "finished"]
    return max(runs, key=lambda r: r["knn"], default=None)


def test_a_method_without_a_learning_row_says_where_it_stands(html_dir):
    """Its page and the Benchmarks page state its best tuning run's kNN against the same
    network at random initialisation and the raw pixels, and whether it learns yet: the
    truth about the stored log, whatever it is."""
    import json

    results = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    for method in set(METHODS) - set(results["learning"]["methods"]):
        best = best_logged_run(method)
        for name in (f"methods/{method}.html", "benchmarks.html"):
            text = " ".join(BeautifulSoup((html_dir / name).read_text(), "html.parser")
                            .get_text().split())  # fmt: skip
            if best is None:
                assert "has not been measured on the digits yet" in text, name
                continue
            init, pixels = best["random_init_knn"], best["pixels_knn"]
            assert f"{best['name']} (seed {best['seed']}, {best['epochs']} epochs), ends at " \
                   f"held-out kNN {best['knn']:.3f}" in text, name  # fmt: skip
            side = "above" if best["knn"] > init else "below"
            assert f"{side} the same network at random initialisation ({init:.3f})" in text
            side = "above" if best["knn"] > pixels else "below"
            assert f"{side} the raw pixels ({pixels:.3f})" in text
            learns = best["knn"] >= init + 0.05
            assert ("does not learn on the digits yet" in text) == (not learns), name
    # A page that says where its method stands, with a learning row: the row's numbers.
    for method, entry in results["learning"]["methods"].items():
        if f":standing:`{method}`" not in (ROOT / "docs" / "methods" / f"{method}.rst").read_text():
            continue
        s = entry["summary"]
        page = html_dir / "methods" / f"{method}.html"
        text = " ".join(BeautifulSoup(page.read_text(), "html.parser").get_text().split())
        knn, init, pixels = s["trained_knn"], s["random_init_knn"], s["pixels_knn"]["mean"]
        assert f"{knn['mean']:.3f} ± {knn['std']:.3f} over {len(s['seeds'])} seeds" in text
        assert f"{(knn['mean'] - init['mean']) * 100:+.1f} points" in text
        side = "above" if knn["mean"] > pixels else "below"
        assert f"{side} the raw pixels ({pixels:.3f})" in text


def test_benchmarks_page_shows_the_results_file(html_dir):
    """Every table on the page holds the cells of results.json and the tuning log, every
    quoted figure is there, and so is the plot."""
    import json

    from benchmarks import report

    results = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    page = BeautifulSoup((html_dir / "benchmarks.html").read_text(), "html.parser")
    shown = [
        [[cell.get_text(strip=True) for cell in row.select("th, td")] for row in table("tr")]
        for table in page.select("table.benchmark-table")
    ]
    tables = {name: make(results) for name, make in report.TABLES.items()}
    tables["tuning"] = report.tuning_table(report.read_tuning_log())
    for name, (header, rows) in tables.items():
        assert rows and [header, *rows] in shown, f"table {name!r} is not on the page"
    text = page.get_text()
    for method in results["learning"]["methods"]:
        assert report.figures(results)[f"{method}_knn"] in text
    images = {Path(img["src"]).name for img in page.select("img")}
    assert "knn_per_epoch.png" in images
    assert all((html_dir / img["src"]).is_file() for img in page.select("img"))


# ---- in a browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(html_dir):
    handler = functools.partial(QuietHandler, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("LIGHTLY_MIN_REQUIRE_BROWSER"):
            pytest.fail("/usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("no /usr/bin/chromium (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=flags
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    yield page
    context.close()


def tab_state(page):
    """(label, selected, panel visible) for each tab of the page's tab set."""
    state = []
    for button in page.locator("div.sphinx-tabs button.sphinx-tabs-tab").all():
        panel = page.locator(f"#{button.get_attribute('aria-controls')}".replace("=", "\\="))
        selected = button.get_attribute("aria-selected") == "true"
        state.append((button.inner_text().strip(), selected, panel.is_visible()))
    return state


@pytest.mark.parametrize("method", METHODS)
def test_clicking_each_tab_shows_its_code(method, page, server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server}/methods/{method}.html")
    for label in TABS:
        page.get_by_role("tab", name=label, exact=True).click()
        state = tab_state(page)
        assert state == [(name, name == label, name == label) for name in TABS]
        panel = page.locator("div.sphinx-tabs-panel:visible")
        code = panel.locator(".literal-block-wrapper pre")
        assert code.is_visible()
        first_line = example_text(method, label).splitlines()[0]
        assert first_line in code.inner_text()
        panel.scroll_into_view_if_needed()
        name = f"{method}-{TABS[label]}.png"
        page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def test_the_chosen_tab_persists_on_the_next_method_page(page, server):
    first, *others = METHODS
    page.goto(f"{server}/methods/{first}.html")
    page.get_by_role("tab", name="Lightning Distributed", exact=True).click()
    for method in others:
        page.goto(f"{server}/methods/{method}.html")
        selected = [name for name, sel, _ in tab_state(page) if sel]
        assert selected == ["Lightning Distributed"], method
        visible = page.locator("div.sphinx-tabs-panel:visible .code-block-caption").inner_text()
        assert f"pytorch_lightning_distributed/{method}.py" in visible


@pytest.mark.parametrize("label", list(TABS))
def test_copy_button_copies_the_example(label, page, server):
    page.goto(f"{server}/methods/simclr.html")
    page.get_by_role("tab", name=label, exact=True).click()
    wrapper = page.locator("div.sphinx-tabs-panel:visible .literal-block-wrapper")
    wrapper.hover()
    wrapper.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == example_text("simclr", label).strip()


def test_copy_button_strips_the_shell_prompt(page, server):
    page.goto(f"{server}/methods/simsiam.html")
    block = page.locator("div.sphinx-tabs-panel:visible div.highlight-console").first
    block.hover()
    block.locator("button.copybtn").click()
    assert page.evaluate("navigator.clipboard.readText()") == "python examples/pytorch/simsiam.py"


def test_the_sidebar_lists_the_tutorials_in_the_order_of_the_methods(html_dir):
    page = BeautifulSoup((html_dir / "index.html").read_text(), "html.parser")
    links = [a["href"] for a in page.select(".sidebar-tree a.reference")]
    shown_methods = [h.removeprefix("methods/").removesuffix(".html") for h in links
                     if h.startswith("methods/")]  # fmt: skip
    shown_tutorials = [h.removeprefix("tutorials/").removesuffix("_digits.html") for h in links
                       if h.endswith("_digits.html")]  # fmt: skip
    assert sorted(shown_methods) == METHODS
    assert shown_tutorials == shown_methods


def test_the_search_finds_infonce_on_the_simclr_page(html_dir):
    """SimCLR's loss is widely known as InfoNCE: the site's search index has the word."""
    import json
    import re

    text = (html_dir / "searchindex.js").read_text()
    index = json.loads(re.search(r"Search\.setIndex\((.*)\)\s*$", text, re.S).group(1))
    pages = index["terms"].get("infonc")  # Sphinx's English stemmer
    pages = pages if isinstance(pages, list) else [pages]
    assert index["docnames"].index("methods/simclr") in pages


@pytest.mark.parametrize("theme", ["dark", "auto"])
def test_code_in_dark_mode_underlines_no_names(theme, page, server):
    """Pygments' dark style underlines module and class names; custom.css removes that, so
    that names in code do not look like links."""
    page.emulate_media(color_scheme="dark")
    page.add_init_script(f"localStorage.setItem('theme', '{theme}')")
    page.goto(f"{server}/methods/simclr.html")
    assert page.evaluate("document.body.dataset.theme") == theme
    names = page.locator("div.sphinx-tabs-panel:visible .highlight .nn")
    assert names.count() > 0
    decorations = page.evaluate(
        "[...document.querySelectorAll('.highlight .nn, .highlight .nc')]"
        ".map(e => getComputedStyle(e).textDecorationLine)"
    )
    assert set(decorations) == {"none"}


def test_benchmark_figures_stay_on_one_line_on_a_phone(browser, server):
    """At 400 px, no figure of a benchmark table wraps, and the page itself does not scroll
    sideways (a wide table scrolls in its own wrapper)."""
    context = browser.new_context(viewport={"width": 400, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/benchmarks.html")
    lines = page.evaluate(
        """() => [...document.querySelectorAll('table.benchmark-table .figure p')].map(p =>
            [p.innerText, Math.round(p.getBoundingClientRect().height
                                     / parseFloat(getComputedStyle(p).lineHeight))])"""
    )
    assert any("±" in text for text, _ in lines)
    assert [(text, n) for text, n in lines if n != 1] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    context.close()


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two CSS colours ``rgb(r, g, b)``."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted([luminance(first), luminance(second)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark", "auto"])
def test_the_method_diagrams_words_can_be_read_in_either_theme(theme, page, server):
    """Every word of each diagram contrasts with the page and with its boxes (WCAG AA, 4.5:1),
    in the light theme, the dark one, and the system's (here dark) when the theme is auto."""
    page.emulate_media(color_scheme="light" if theme == "light" else "dark")
    page.add_init_script(f"localStorage.setItem('theme', '{theme}')")
    for method in METHODS:
        page.goto(f"{server}/methods/{method}.html")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        colours = page.evaluate(
            """() => {
                const svg = document.querySelector('figure.method-diagram svg');
                const box = getComputedStyle(svg.querySelector('rect.md-box')).fill;
                const texts = [...svg.querySelectorAll('text')];
                return {box, texts: texts.map(t => [t.textContent, getComputedStyle(t).fill])};
            }"""
        )
        assert colours["texts"]
        for text, fill in colours["texts"]:
            assert contrast(fill, background) >= 4.5, (method, text, fill, background)
            assert contrast(fill, colours["box"]) >= 4.5, (method, text, fill, colours["box"])


def test_a_method_diagram_keeps_its_size_on_a_phone_and_scrolls_in_its_frame(browser, server):
    """At 400 px the diagram is not shrunk until its words are too small: it scrolls
    sideways in its own frame, and the page does not."""
    context = browser.new_context(viewport={"width": 400, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/methods/byol.html")
    figure = page.locator("figure.method-diagram")
    sizes = figure.evaluate(
        "f => [f.clientWidth, f.scrollWidth, f.querySelector('svg').getBoundingClientRect().width]"
    )
    client, scroll, drawn = sizes
    assert drawn >= 500 and scroll > client
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    context.close()
