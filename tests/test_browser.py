"""The built site in a real browser: Debian's /usr/bin/chromium driven by Playwright (never a downloaded
browser). Serves a fresh ``mkdocs build --strict`` on 127.0.0.1 and checks what a reader sees: the paper
card, the claims table, an executed example's output, charts, math, sortable tables and search (over
HTTP and from file://). Screenshots go to test-artifacts/ for a human to look at."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO
from sitebuild import CHROMIUM, shared_build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the "
                    "browser tests; they never download a browser")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    build = shared_build(tmp_path_factory)
    assert build.returncode == 0, build.log
    return build.site


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(built_site: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records requests to other hosts (the site must work offline) and script errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: foreign.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "file://", "data:", "blob:", "about:")) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not errors, f"script errors: {errors}"


def shoot(page, name: str) -> Path:
    """Scroll through the page (lazy images load), back to the top, then a full-page screenshot."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height, 700):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(20)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def image_loaded(page, selector: str) -> bool:
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=5000)
    return image.evaluate("img => img.naturalWidth") > 0


def test_home(page, base_url: str):
    page.goto(f"{base_url}/index.html")
    assert page.locator("article h1").first.inner_text().startswith("encyclo")
    catalogue = page.locator("table").first
    assert catalogue.locator("a", has_text="seblock").count() == 1
    assert "added" in page.inner_text("article") or "paper" in page.inner_text("article")
    shoot(page, "home")


def test_entry_page(page, base_url: str):
    page.goto(f"{base_url}/entries/attention/seblock/index.html")
    card = page.locator(".paper-card")
    assert card.is_visible() and "Squeeze-and-Excitation Networks" in card.inner_text()
    assert "@inproceedings" in card.locator("pre").inner_text()
    assert card.locator(".md-code__button").count() >= 1  # material's copy button on the BibTeX
    claims = page.locator(".claims-table table tbody tr")
    assert claims.count() >= 1 and "✓" in claims.first.inner_text()
    output = page.locator(".executed-example .nb-output").first
    assert "params 580" in output.inner_text()  # printed by the example when the site was built
    math = page.locator("math").first
    assert math.bounding_box()["height"] > 5  # MathML laid out by the browser, no script needed
    assert image_loaded(page, "img.bench-chart")
    assert "Test GPU" in page.inner_text("article") and "stale" in page.inner_text("article")
    assert page.locator("h3#attention\\.seblock\\.seblock\\.SEBlock, [id='attention.seblock.seblock.SEBlock']").count()
    shoot(page, "entry-seblock")


def test_category_page_sorts(page, base_url: str):
    page.goto(f"{base_url}/entries/attention/index.html")
    table = page.locator(".sortable table").first
    rows = table.locator("tbody tr")
    assert rows.count() >= 3
    header = table.locator("th", has_text="Params")
    column = header.evaluate("th => th.cellIndex")

    def params() -> list[int]:
        return [int(rows.nth(i).locator("td").nth(column).inner_text().replace(",", "")) for i in range(rows.count())]

    header.click()
    assert params() == sorted(params())
    header.click()
    assert params() == sorted(params(), reverse=True)
    assert image_loaded(page, "img.bench-chart")
    shoot(page, "category-attention")


def search(page, text: str) -> list[str]:
    page.locator(".md-search__input").click()
    page.keyboard.type(text)
    page.wait_for_selector(".md-search-result__item", timeout=10000)
    return page.locator(".md-search-result__item h1, .md-search-result__item h2").all_inner_texts()


def test_search_finds_the_se_block(page, base_url: str):
    page.goto(f"{base_url}/index.html")
    titles = search(page, "squeeze")
    assert any("Squeeze-and-Excitation block" in t for t in titles), titles
    shoot(page, "search-squeeze")


def test_search_works_from_file_url(page, built_site: Path):
    page.goto((built_site / "entries" / "attention" / "index.html").as_uri())
    titles = search(page, "squeeze")
    assert any("Squeeze-and-Excitation block" in t for t in titles), titles
