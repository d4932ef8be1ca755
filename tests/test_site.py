"""The documentation site: unit tests of the pure renderers in encyclo.docs, and (slow) the full
``mkdocs build --strict`` with synthetic results rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the site extras are not installed: pip install -e '.[site]'")

from encyclo.claims import ClaimResult  # noqa: E402
from encyclo.docs import category_page as cat  # noqa: E402
from encyclo.docs import entry_page as ep  # noqa: E402
from encyclo.docs import markdown as md  # noqa: E402
from encyclo.docs import notebooks, paths  # noqa: E402
from encyclo.docs.mathml import arithmatex_to_mathml, dollars_to_mathml, tex_to_mathml  # noqa: E402
from encyclo.docs.results import Figures, find_row, main_device, reference_input  # noqa: E402
from encyclo.registry import Claim, Entry  # noqa: E402
from helpers import make_entry  # noqa: E402
from sitebuild import result_row as row, shared_build  # noqa: E402

SCRIPT = '''# %% [markdown]
# # Toy: a title
#
# Some text with $x^2$.

# %%
print("hello")

# %%
print("to stderr", file=sys.stderr)
1 + 1
'''


@pytest.fixture
def toy(entry_root: Path, quiet_registry) -> Entry:
    make_entry(entry_root, "attention/toy_block")
    return quiet_registry(entry_root).entry("toy_block")


def result(claim: Claim, measured, error: str | None = None) -> ClaimResult:
    return ClaimResult(claim, measured, error)


# ---- paper card, claims ----------------------------------------------------------------------------
def test_paper_card_has_links_authors_and_bibtex(toy: Entry):
    card = ep.paper_card(toy.paper)
    assert card.startswith('<div class="paper-card" markdown>')
    assert "Ada Lovelace" in card and "*filled 2000*" in card
    assert f"[arXiv {toy.paper.arxiv}](https://arxiv.org/abs/{toy.paper.arxiv})" in card
    assert "[code](https://github.com/example/code)" in card
    assert "```bibtex\n" + toy.paper.bibtex + "\n```" in card  # a fenced block: material adds the copy button


def test_claims_table_marks_reproduced_failed_and_deviations():
    claim = Claim(what="params", value=580, unit="count", at={"channels": 64}, source="Eq. 3")
    dev = dataclasses.replace(claim, deviation="the code adds biases")
    table = ep.claims_table([result(claim, 580), result(claim, 581), result(dev, 600), result(dev, 580),
                             result(claim, None, "ValueError: boom")])
    lines = [line for line in table.splitlines() if line.startswith("| `params`")]
    assert len(lines) == 5
    assert "✓ reproduced" in lines[0]
    assert "✗ not reproduced" in lines[1] and "| 581 |" in lines[1]
    assert "⚠ known deviation: the code adds biases" in lines[2]
    assert "✗ marked as a deviation but reproduces" in lines[3]
    assert "✗ could not be measured: ValueError: boom" in lines[4]
    assert table.startswith("2 of 5 claims hold")


def test_claim_figures_are_formatted_with_units_and_tolerance():
    claim = Claim(what="macs", value=3_800_000_000, unit="MACs", at={"variant": "r50", "input": "1x3x224x224"},
                  source="Table 1", tolerance=0.027)
    table = ep.claims_table([result(claim, 3_858_000_000)])
    assert "3,800,000,000 MACs ± 2.70%" in table and "3,858,000,000" in table
    assert "at variant=r50, input=1x3x224x224" in table


def test_article_drops_the_title_and_splits_the_lead():
    lead, body = ep.article("# Title\n\nThe idea in a paragraph $x$.\n\n## Method\n\n$$ y = x $$\n")
    assert lead == "The idea in a paragraph $x$."
    assert body.startswith("## Method") and "$$ y = x $$" in body
    _, body = ep.article("# T\n\n## See\n\n[Cutout](../cutout/README.md#notes), [web](https://x.org/README.md), "
                         "[code](toy.py)\n")
    assert "[Cutout](../cutout/index.md#notes)" in body  # the README's page sits where the README does
    assert "(https://x.org/README.md)" in body and "[code](toy.py)" in body


# ---- benchmarks: tables, stale marks, compatibility ---------------------------------------------------
def test_bench_table_marks_stale_rows_and_names_the_device(toy: Entry):
    rows = [row(toy), row(toy, input="32x64x56x56", code_hash="0ld0ld0ld0ld", noisy=True, latency_ms=12.5)]
    section = ep.bench_section(toy, rows, "bench.png", (800, 300))
    assert "### Test CPU (2 cores)" in section and "measured 2026-01-02" in section
    current, old = (line for line in section.splitlines() if line.startswith(("| 1x64", "| 32x64")))
    assert "stale" not in current and "0.05 (0.045–0.06)" in current
    assert "⚠ stale" in old and "0ld0ld0ld0ld" in old and "noisy" in old
    assert '!!! warning "Stale results"' in section and "1 of 2 rows" in section
    assert "![Latency of toy_block" in section and "width=800 height=300" in section


def test_bench_section_without_results_says_how_to_get_them(toy: Entry):
    section = ep.bench_section(toy, [], None)
    assert "Not benchmarked yet" in section and "encyclo bench toy_block" in section


def test_compat_table_shows_marks_and_reasons(toy: Entry):
    compat = row(toy, kind="compat", compat_eager_cpu="ok", compat_eager_cuda="n/a: no CUDA device here",
                 compat_bfloat16="ok", compat_channels_last="ok", compat_compile="fail: Unsupported: x | y",
                 compat_export="ok")
    table = ep.compat_table([compat, row(toy)], [toy])
    line = table.splitlines()[-1]
    assert line.count("✓") == 4
    assert '<abbr title="no CUDA device here">n/a</abbr>' in line
    assert '<abbr title="Unsupported: x / y">✗</abbr>' in line  # a pipe would break the table
    assert ep.compat_table([row(toy)], [toy]) == ""


# ---- category pages, home, nav ------------------------------------------------------------------------
def test_category_table_rows_latency_and_stale_mark(toy: Entry, entry_root: Path, quiet_registry):
    make_entry(entry_root, "attention/other_block")
    other = quiet_registry(entry_root).entry("other_block")
    rows = [cat.CategoryRow(toy, "toy_block", None, "1x64x56x56", Figures(580, 512), row(toy)),
            cat.CategoryRow(other, "other_block", None, "1x64x56x56", Figures(1_234_567, 4_089_000_000),
                            row(other, code_hash="stale"))]
    table = cat.category_table(rows, page=paths.category_page("attention"))
    assert table.startswith('<div class="sortable" markdown>')
    body = [line for line in table.splitlines() if line.startswith("| [")]
    assert len(body) == 2
    assert body[0].startswith("| [toy_block](toy_block/index.md) |") and "| 580 | 512 |" in body[0]
    assert "| 0.05 |" in body[0]
    assert "1,234,567" in body[1] and "4.09 G" in body[1] and "⚠ stale" in body[1]
    no_results = cat.category_table([dataclasses.replace(rows[0], result=None)], page="entries/attention/index.md")
    assert f"| {md.DASH} | 2000 |" in no_results


def test_category_page_and_chart_records(toy: Entry):
    rows = [cat.CategoryRow(toy, "toy_block", None, "1x64x56x56", Figures(580, 512), row(toy))]
    results = [row(toy), row(toy, device="cuda", device_name="Test GPU", latency_ms=0.01)]
    points = cat.chart_points(rows, results)
    assert [(p.x, p.y, p.group) for p in points] == [(512, 0.05, "Test CPU (2 cores)"), (512, 0.01, "Test GPU")]
    page = cat.category_page("attention", rows, entries=[toy], results=results, chart="entries/attention/latency.png",
                             cpu_device="Test CPU (2 cores)")
    assert page.startswith("---\ntitle: Attention\n") and "# Attention" in page
    assert "![Latency vs MACs of the attention entries](latency.png)" in page


def test_home_blocks_and_nav(toy: Entry):
    assert "**1 entries** in 1 categories" in cat.catalogue([toy], page="index.md")
    new = cat.whats_new([(toy, "2026-01-01")], [row(toy)], page="index.md")
    assert "(added 2026-01-01)" in new and "Benchmarks on **Test CPU (2 cores)**: 1 results" in new
    assert cat.fill_markers("a <!-- encyclo:x --> b", {"x": "X"}) == "a X b"
    with pytest.raises(KeyError, match="unknown|no generated block"):
        cat.fill_markers("<!-- encyclo:nope -->", {})
    nav = cat.nav([toy])
    assert "* [Attention](attention/index.md)\n    * [filled full name](attention/toy_block/index.md)" in nav


def test_entry_page_links_and_sections(toy: Entry):
    page = ep.render(ep.EntryPage(entry=toy, example="```python\nprint(1)\n```", has_notebook=True,
                                  api_identifier="attention.toy_block.toy_block.ToyBlock", source="x = 1\n"))
    for section in ("## Paper", "## Claims", "## API", "## Example", "## Benchmarks", "## Compatibility"):
        assert section in page
    assert "::: attention.toy_block.toy_block.ToyBlock" in page
    assert '<a href="example.ipynb" download>' in page and "[notebook page](example.ipynb)" in page
    assert "](../../../add-an-entry.md#category-contracts-io)" in page
    assert md.link("x", "entries/b/y/index.md", "entries/a/z/index.md") == "[x](../../b/y/index.md)"


def test_results_selection(toy: Entry):
    assert reference_input(toy) == "1x64x56x56"
    rows = [row(toy), row(toy, dtype="bfloat16"), row(toy, device="cuda", device_name="GPU")]
    assert main_device(rows, "cpu") == "Test CPU (2 cores)" and main_device(rows, "cuda") == "GPU"
    assert find_row(rows, entry_id=toy.id, input="1x64x56x56", device_name="Test CPU (2 cores)") is rows[0]
    assert find_row(rows, entry_id=toy.id, input="2x64x56x56", device_name="Test CPU (2 cores)") is None


def test_number_formats():
    assert md.count(25_557_032) == "25,557,032" and md.si(4_089_000_000) == "4.09 G" and md.si(512) == "512"
    assert md.ms(0.04712) == "0.0471" and md.ms(137.9) == "138" and md.nbytes(802816) == "784 KiB"
    assert md.cell("a|b") == "a\\|b" and md.cell(None) == md.DASH


# ---- notebooks --------------------------------------------------------------------------------------
def test_notebook_conversion_has_fixed_cell_ids():
    import nbformat

    first, second = notebooks.to_notebook(SCRIPT), notebooks.to_notebook(SCRIPT)
    assert [c["id"] for c in first.cells] == [f"cell-{i}" for i in range(len(first.cells))]
    assert nbformat.writes(first) == nbformat.writes(second)  # byte-identical: reproducible site
    nbformat.validate(first)
    assert first.metadata["kernelspec"]["name"] == "python3"


def test_cache_key_follows_code_not_prose(toy: Entry):
    key = notebooks.cache_key(toy.folder)
    (toy.folder / "README.md").write_text("# changed prose\n")
    (toy.folder / f"test_{toy.id}.py").write_text("# changed tests\n")
    assert notebooks.cache_key(toy.folder) == key
    toy.impl_file.write_text(toy.impl_file.read_text() + "\n# changed code\n")
    assert notebooks.cache_key(toy.folder) != key
    key = notebooks.cache_key(toy.folder)
    toy.example_file.write_text(toy.example_file.read_text() + "\nprint(2)\n")
    assert notebooks.cache_key(toy.folder) != key
    assert notebooks.cache_key(toy.folder, salt="other kernel") != notebooks.cache_key(toy.folder)


def test_executed_notebook_to_markdown():
    import base64

    import nbformat

    nb = notebooks.to_notebook(SCRIPT)
    png = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (40).to_bytes(4, "big") + (30).to_bytes(4, "big") + b"rest"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stderr", text="to stderr\n"),
                           nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode(),
                                                                        "text/plain": "<Figure>"}),
                           nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]
    text, images = notebooks.to_markdown(nb)
    assert text.startswith("### Toy: a title")  # H1 shifted under the page's ## Example
    assert "```python\nprint(\"hello\")\n```" in text and "hello" in text and "to stderr" in text
    assert images == {"example-2-1.png": png}
    assert "![Output of cell 2](example-2-1.png){ .nb-image loading=lazy width=40 height=30 }" in text
    assert text.index("to stderr") < text.index("example-2-1.png") < text.rindex("2\n")


def test_failing_example_names_the_entry(tmp_path: Path):
    pytest.importorskip("ipykernel")
    script = tmp_path / "example.py"
    script.write_text("# %%\nraise RuntimeError('broken on purpose')\n")
    with pytest.raises(notebooks.ExampleError, match="(?s)entry 'broken'.*broken on purpose"):
        notebooks.executed(script, name="broken", cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.ipynb")) if (tmp_path / "cache").exists() else True


# ---- math -------------------------------------------------------------------------------------------
def test_tex_becomes_mathml_with_the_source_kept():
    mathml = tex_to_mathml(r"\frac{2}{r} \sum_s N_s C_s^2", display=True)
    assert mathml.startswith("<math") and 'display="block"' in mathml and "<mfrac>" in mathml
    assert '<annotation encoding="application/x-tex">\\frac{2}{r} \\sum_s N_s C_s^2</annotation>' in mathml
    html = arithmatex_to_mathml('<p>a <span class="arithmatex">\\(x &lt; y\\)</span></p>')
    assert "arithmatex" not in html and "<mi>x</mi><mo>&#x0003C;</mo><mi>y</mi>" in html
    assert "<math" in dollars_to_mathml("gate $M_c$ costs $5") and "$5" in dollars_to_mathml("costs $5")


def test_markdown_pipeline_renders_math_and_leaves_code_alone():
    import markdown

    out = markdown.markdown("Eq. $a^2$ and `$HOME`\n\n$$ y = \\sigma(x) $$",
                            extensions=["pymdownx.arithmatex", "encyclo.docs.mathml"],
                            extension_configs={"pymdownx.arithmatex": {"generic": True}})
    assert out.count("<math") == 2 and "<code>$HOME</code>" in out and "arithmatex" not in out


def test_charts_are_png_and_deterministic():
    from encyclo.docs.charts import Bar, Point, bar_chart, scatter_chart

    bars = [Bar("a 1x64x56x56", 0.05, "CPU", 0.04, 0.06), Bar("a 32x64x56x56", 12.0, "GPU", stale=True)]
    png = bar_chart(bars, title="t", xlabel="ms", note="note")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == bar_chart(bars, title="t", xlabel="ms", note="note")
    assert md.png_size(png)[0] > 300
    points = [Point("a", 512, 0.05, "CPU"), Point("b", 4e9, 130.0, "CPU", stale=True)]
    assert scatter_chart(points, title="t", xlabel="MACs", ylabel="ms")[:4] == b"\x89PNG"


# ---- the whole build ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path_factory: pytest.TempPathFactory):
    build = shared_build(tmp_path_factory)
    assert build.returncode == 0, build.log
    site = build.site
    for page in ("index.html", "getting-started.html", "measuring.html", "add-an-entry.html", "api.html",
                 "entries/index.html", "entries/attention/index.html", "entries/attention/seblock/index.html",
                 "entries/attention/seblock/example.html", "entries/attention/seblock/example.ipynb",
                 "entries/attention/seblock/bench.png", "entries/attention/latency.png",
                 "search/search_index.js", "javascripts/tablesort.js", "javascripts/iframe-worker.js"):
        assert (site / page).is_file(), page
    se = (site / "entries/attention/seblock/index.html").read_text()
    assert 'class="paper-card"' in se and "@inproceedings" in se and "hu2018squeezeandexcitation" in se
    assert "✓ reproduced" in se and "<math" in se and 'class="nb-output"' in se
    assert "Test GPU" in se and "stale" in se
    assert "attention.seblock.seblock.SEBlock" in se  # mkdocstrings rendered the impl's API
    home = (site / "index.html").read_text()
    assert "encyclo:catalogue" not in home and "seblock" in home
    for html in site.rglob("*.html"):  # offline: nothing is loaded from another host
        text = html.read_text()
        assert "https://unpkg.com" not in text and "fonts.googleapis" not in text and "cdnjs" not in text, html


def test_yaml_prose_is_shown_as_written():
    from encyclo.docs.markdown import plain

    assert plain("[p1, p2][a1 l1]^T, x_i * y_i") == "\\[p1, p2\\]\\[a1 l1\\]^T, x\\_i \\* y\\_i"


def test_baseline_rows_show_the_same_run_ratio():
    from encyclo import entry as get_entry
    from encyclo.docs.entry_page import bench_table

    e = get_entry("layernorm")
    base = {"id": "layernorm", "input": "8x197x768", "dtype": "float32", "mode": "infer", "device_name": "CPU X",
            "status": "ok", "code_hash": e.code_hash, "timestamp": "2026-11-21T00:00:00+00:00", "latency_ms": 1.0}
    rows = [{**base, "kind": "measure", "name": "layernorm"},
            {**base, "kind": "baseline", "name": "layernorm@torch", "latency_ms": 1.25, "entry_latency_ms": 1.0,
             "ratio_entry_to_baseline": 0.8}]
    text = bench_table(e, rows)
    assert "Entry ÷ baseline" in text and "0.80× (entry 1 ms, same run)" in text
