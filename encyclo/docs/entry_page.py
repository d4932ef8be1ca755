"""One entry's page: paper card, claims, article, API, executed example, benchmarks, compatibility, links.

Every function takes registry objects (Entry, Paper, ClaimResult) and results rows and returns Markdown;
none imports torch or reads files other than through the Entry it is given.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ..claims import ClaimResult
from ..registry import Entry, Paper
from . import markdown as md
from . import paths
from .results import COMPAT_COLUMNS, Figures, devices, is_stale, row_date

CHECK, CROSS, WARN = "✓", "✗", "⚠"


@dataclass(frozen=True)
class Composition:
    """An architecture with this block in its attention slot, e.g. ``resnet50 + seblock``."""

    architecture: Entry
    base: str  # the architecture's id or variant, e.g. "resnet50"
    input: str
    figures: Figures
    base_figures: Figures


@dataclass(frozen=True)
class Variant:
    name: str
    config: dict
    input: str
    figures: Figures
    latency_row: dict | None = None


@dataclass(frozen=True)
class EntryPage:
    """Everything an entry page shows; built by the site generator, rendered by :func:`render`."""

    entry: Entry
    claims: Sequence[ClaimResult] = ()
    readme: str | None = None
    api_identifier: str | None = None  # mkdocstrings identifier of the impl object
    source: str | None = None  # the implementation file's text
    example: str | None = None  # the executed example as Markdown
    has_notebook: bool = False
    rows: Sequence[dict] = ()  # this entry's results rows (measurements and compat)
    chart: str | None = None  # file name of the benchmark chart, next to the page
    chart_size: tuple[int, int] | None = None  # its pixel size (width, height)
    variants: Sequence[Variant] = ()
    used_in: Sequence[Composition] = ()
    slot_blocks: Sequence[Entry] = ()  # for architectures with an attention slot: blocks that fit it
    related: Sequence[Entry] = ()
    siblings: Sequence[Entry] = ()  # the other entries of the category


# ---- header and paper -----------------------------------------------------------------------------
def front_matter(entry: Entry) -> str:
    return f"---\ntitle: {json.dumps(entry.name)}\ndescription: {json.dumps(entry.summary)}\n---\n"


def header(entry: Entry) -> str:
    names = f"`{entry.id}`" + "".join(f" · `{a}`" for a in entry.aliases)
    tags = " ".join(f"`#{t}`" for t in entry.tags)
    meta = (f"{names} · {paths.category_title(entry.category)} / {entry.kind} · io "
            f"[`{entry.io}`]({md.relpath('add-an-entry.md', paths.entry_page(entry))}#category-contracts-io)")
    return f"# {entry.name}\n\n{entry.summary}\n{{ .entry-summary }}\n\n{meta}" + (f"<br>{tags}" if tags else "")


def paper_card(paper: Paper) -> str:
    """Title, authors, venue and year, links (arXiv or URL, DOI, code) and the BibTeX to copy."""
    links = [f"[arXiv {paper.arxiv}]({paper.link})" if paper.arxiv else f"[paper]({paper.link})"]
    if paper.doi:
        links.append(f"[doi:{paper.doi}](https://doi.org/{paper.doi})")
    if paper.code:
        links.append(f"[code]({paper.code})")
    body = (f"**{paper.title}**<br>\n{', '.join(paper.authors)}<br>\n*{paper.venue} {paper.year}* · "
            + " · ".join(links) + "\n\n" + md.unsearchable(md.code_block(paper.bibtex, "bibtex"), "bibtex"))
    return md.wrap(body, "paper-card")


# ---- claims ---------------------------------------------------------------------------------------
def claim_status(result: ClaimResult) -> str:
    """✓ reproduced, ✗ not reproduced (or not measurable), ⚠ the named deviation."""
    claim = result.claim
    if result.error:
        return f"{CROSS} could not be measured: {md.plain(result.error)}"
    if claim.deviation and result.reproduced:
        return f"{CROSS} marked as a deviation but reproduces"
    if claim.deviation:
        return f"{WARN} known deviation: {md.plain(claim.deviation)}"
    return f"{CHECK} reproduced" if result.reproduced else f"{CROSS} not reproduced"


def _paper_figure(result: ClaimResult) -> str:
    claim = result.claim
    text = md.value(claim.value)
    if claim.unit and claim.unit != "count" and len(claim.unit) <= 12:
        text += f" {claim.unit}"
    if claim.tolerance:
        text += f" ± {claim.tolerance:.2%}".replace(".00%", "%")
    return text


def _claim_label(result: ClaimResult) -> str:
    claim = result.claim
    at = ", ".join(f"{k}={md.value(v) if not isinstance(v, str) else v}" for k, v in claim.at.items()) or "defaults"
    unit = f"{claim.unit} · " if claim.unit and claim.unit != "count" and len(claim.unit) > 12 else ""
    return f"`{claim.what}`<br><small>{html.escape(unit)}at {html.escape(at)}</small>"


def claims_table(results: Sequence[ClaimResult]) -> str:
    if not results:
        return "The entry states no claims yet."
    rows = [(_claim_label(r), _paper_figure(r), md.DASH if r.error else md.value(r.measured), claim_status(r),
             md.plain(r.claim.source)) for r in results]
    held = sum(1 for r in results if r.ok)
    intro = (f"{held} of {len(results)} claims hold (reproduced, or a named deviation). Measured when this page "
             "was built: params and MACs by counting on the meta device, the others by the functions the "
             "entry's tests define.")
    return intro + "\n\n" + md.wrap(md.table(["Claim", "Paper", "Measured", "Holds", "Source"], rows,
                                             align="llllll"[:5]), "claims-table")


# ---- article, API, example ------------------------------------------------------------------------
_README_LINK = re.compile(r"(\]\((?![a-z]+://)[^)\s]*?)README\.md((?:#[^)\s]*)?\))")


def article(readme: str) -> tuple[str, str]:
    """The README as (lead, sections): its H1 title dropped (the page has one), the text before the first
    ``##`` heading as the lead, the rest (Method, Deviations, Notes, ...) as written, equations kept.

    The page sits where the README does (``entries/<category>/<id>/``), so relative links keep working;
    a link to another entry's README (``../cutout/README.md``) becomes a link to its page."""
    readme = _README_LINK.sub(r"\1index.md\2", readme)
    lines = readme.strip().splitlines()
    if lines and re.match(r"^#\s", lines[0]):
        lines = lines[1:]
    first = next((i for i, line in enumerate(lines) if re.match(r"^##\s", line)), len(lines))
    return "\n".join(lines[:first]).strip(), "\n".join(lines[first:]).strip()


def usage(entry: Entry) -> str:
    """How to build and call the entry, per its io contract."""
    name = entry.default_name
    code = {
        "feature_map": f'block = create("{name}", channels=64)\ny = block(torch.randn(8, 64, 56, 56))  # same shape',
        "tokens": f'layer = create("{name}", dim=768)\ny = layer(torch.randn(8, 197, 768))  # same shape',
        "classifier": f'model = create("{name}", num_classes=1000)\nlogits = model(torch.randn(1, 3, 224, 224))',
        "dense": f'model = create("{name}", in_chans=3, num_classes=21)\nout = model(torch.randn(1, 3, 224, 224))',
        "batch_augment": (f'augment = create("{name}")\nimages, targets = torch.rand(8, 3, 224, 224), '
                          'torch.randint(0, 10, (8,))\nmixed, soft_targets = augment(images, targets, num_classes=10, '
                          'generator=torch.Generator().manual_seed(0))'),
        "image_augment": (f'augment = create("{name}")\n'
                          'out = augment(np.zeros((224, 224, 3), np.uint8), np.random.default_rng(0))'),
    }[entry.io]
    imports = "import numpy as np\n" if entry.io == "image_augment" else "import torch\n"
    return md.code_block(f"{imports}from encyclo import create\n\n{code}", "python")


def api_section(entry: Entry, identifier: str | None, source: str | None) -> str:
    parts = [usage(entry)]
    if identifier:
        parts.append(f"::: {identifier}\n    options:\n      heading_level: 3\n      show_root_heading: true\n"
                     "      show_root_full_path: false")
    if source is not None:
        name = entry.impl_file.name
        body = f"[Download {name}]({name}) · [entry.yaml](entry.yaml)\n\n" + md.code_block(source, "python")
        parts.append(md.unsearchable(f'??? example "Source: {name} (self-contained, copy-paste ready)"\n\n'
                                     + md.indent(body)))
    return "\n\n".join(parts)


def example_section(example: str | None, has_notebook: bool, entry: Entry) -> str:
    if example is None:
        return (f'!!! info "No example yet"\n    Add `{paths.entry_dir(entry).split("/", 1)[1]}/example.py` '
                "(a jupytext percent script); the site executes it at build time.")
    intro = "Executed when the site was built (outputs below are the real ones)."
    if has_notebook:
        intro += (' Also as a [notebook page](example.ipynb) and a '
                  '<a href="example.ipynb" download>downloadable .ipynb</a>.')
    return intro + "\n\n" + md.wrap(example, "executed-example")


# ---- benchmarks and compatibility ------------------------------------------------------------------
def _latency(row: dict, entry: Entry) -> str:
    """``0.209 (0.205–0.267)``, then ⚠ noisy / ⚠ stale marks; the status for failed rows."""
    if row.get("status") != "ok" or row.get("latency_ms") is None:
        return str(row.get("status") or "error")
    text = f"{md.ms(row['latency_ms'])} ({md.ms(row.get('latency_p10_ms'))}–{md.ms(row.get('latency_p90_ms'))})"
    if row.get("noisy"):
        text += f' <abbr title="noisy: IQR / median > 10%">{WARN}</abbr>'
    if is_stale(row, entry):
        text += (f' <abbr title="measured on code {row.get("code_hash")}, now {entry.code_hash}">'
                 f"{WARN} stale</abbr>")
    return text


def _roofline(row: dict) -> str:
    if not row.get("bound"):
        return md.DASH
    pct = row.get("pct_of_roofline")
    return f"{row['bound']}" + (f" {pct:.0f}%" if pct is not None else "")


def _options(row: dict) -> str:
    flags = [f for f in ("channels_last", "compile") if row.get(f)]
    return f"{row.get('dtype', '?')} · {row.get('mode', '?')}" + "".join(f" +{f}" for f in flags)


def bench_table(entry: Entry, rows: Sequence[dict]) -> str:
    """Results grouped by device: one table each, with the device name, dates and a stale mark per row."""
    measured = [r for r in rows if r.get("kind") != "compat"]
    out: list[str] = []
    for device in devices(measured):
        mine = sorted((r for r in measured if r.get("device_name") == device),
                      key=lambda r: (r.get("variant") or "", r.get("name") or "", _volume(r.get("input", "")),
                                     r.get("dtype", ""), r.get("mode", "")))
        dates = sorted({row_date(r) for r in mine})
        threads = sorted({r.get("threads") for r in mine if r.get("threads")})
        torch_versions = sorted({str(r.get("torch_version")) for r in mine if r.get("torch_version")})
        info = [f"measured {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "")]
        if torch_versions:
            info.append("torch " + ", ".join(torch_versions))
        if threads:
            info.append(f"{', '.join(map(str, threads))} CPU thread{'s' if threads != [1] else ''}")
        named = any((r.get("name") or entry.id) != entry.id for r in mine)
        headers = ["Input", "dtype · mode", "Latency (ms)", "Peak memory", "Throughput /s", "Roofline"]
        table_rows = [((f"`{r.get('name')}` " if named else "") + str(r.get("input")), _options(r),
                       _latency(r, entry), md.nbytes(r.get("peak_memory_bytes")), md.si(r.get("throughput_per_s")),
                       _roofline(r)) for r in mine]
        align = "llrrrl"
        if any(r.get("ratio_entry_to_baseline") for r in mine):  # baselines: the like-for-like ratio of one run
            headers.append("Entry ÷ baseline")
            table_rows = [row + (_baseline_ratio(r),) for row, r in zip(table_rows, mine)]
            align += "r"
        out.append(f"### {device}\n\n{' · '.join(info)}\n\n" + md.table(headers, table_rows, align=align))
    return "\n\n".join(out)


def _baseline_ratio(row: dict) -> str:
    """For a baseline row: the entry's latency over the baseline's, timed interleaved in the same run."""
    ratio = row.get("ratio_entry_to_baseline")
    if not ratio:
        return md.DASH
    return f"{ratio:.2f}× (entry {row['entry_latency_ms']:.3g} ms, same run)"


def _volume(shape: str) -> int:
    try:
        return math.prod(int(d) for d in shape.split("x"))
    except ValueError:
        return 0


def stale_note(entry: Entry, rows: Sequence[dict]) -> str:
    stale = [r for r in rows if is_stale(r, entry)]
    if not stale:
        return ""
    hashes = ", ".join(sorted({str(r.get("code_hash")) for r in stale}))
    return (f'!!! warning "Stale results"\n    {len(stale)} of {len(rows)} rows were measured on older code '
            f"(code hash {hashes}; now {entry.code_hash}). They are shown, marked stale, until "
            f"`encyclo bench {entry.id}` measures the current code.")


def bench_section(entry: Entry, rows: Sequence[dict], chart: str | None,
                  chart_size: tuple[int, int] | None = None) -> str:
    measured = [r for r in rows if r.get("kind") != "compat"]
    if not measured:
        return (f'!!! info "Not benchmarked yet"\n    No committed results for `{entry.id}`. Run '
                f"`encyclo bench {entry.id} --device cpu` (and `--device cuda`) and commit "
                "`benchmarks/results/*.jsonl`; the site reads them, it never benchmarks.")
    parts = ["Latency: median of interleaved timed samples (p10–p90 in brackets; "
             f"{WARN}: noisy, IQR/median > 10%). Peak memory above the inputs; roofline: the bound and the % of "
             "the attainable peak. See [How we measure]"
             f"({md.relpath('measuring.md', paths.entry_page(entry))})."]
    note = stale_note(entry, measured)
    if note:
        parts.append(note)
    if chart:
        parts.append(md.image(f"Latency of {entry.id} per configuration and device", chart, chart_size, "bench-chart"))
    parts.append(md.unsearchable(bench_table(entry, measured), "bench-table"))  # figures: noise for text search
    return "\n\n".join(parts)


def compat_cell(value: Any) -> str:
    """``ok`` -> ✓; ``fail: reason`` -> ✗ with the reason on hover; ``n/a: reason`` -> n/a."""
    text = str(value or "")
    if text == "ok":
        return CHECK
    if not text:
        return md.DASH
    kind, _, reason = text.partition(":")
    mark = "n/a" if kind.strip() == "n/a" else CROSS
    reason = html.escape(reason.strip().replace("|", "/"), quote=True)
    return f'<abbr title="{reason}">{mark}</abbr>' if reason else mark


def compat_table(rows: Sequence[dict], entries: Sequence[Entry]) -> str:
    """One line per (entry, device) compatibility row; the Entry column only when there are several."""
    by_id = {e.id: e for e in entries}
    compat = [r for r in rows if r.get("kind") == "compat" and r.get("id") in by_id]
    if not compat:
        return ""
    several = len({r["id"] for r in compat}) > 1 or len(entries) > 1
    table_rows = []
    for r in compat:
        device = f"{r.get('device_name')}<br><small>{row_date(r)}" + (
            f" {WARN} stale" if is_stale(r, by_id[r["id"]]) else "") + "</small>"
        cells = [compat_cell(r.get(key)) for key, _ in COMPAT_COLUMNS]
        table_rows.append(([f"`{r['id']}`"] if several else []) + [device, *cells])
    headers = (["Entry"] if several else []) + ["Device, checked", *(label for _, label in COMPAT_COLUMNS)]
    return md.table(headers, table_rows, align=("l" if several else "") + "l" + "c" * len(COMPAT_COLUMNS))


def compat_section(entry: Entry, rows: Sequence[dict]) -> str:
    table = compat_table(rows, [entry])
    if not table:
        return f"Not checked yet: `encyclo bench {entry.id}` records it (unless `--no-compat`)."
    return ("Whether the entry runs eager on CPU and CUDA, in bfloat16, channels_last, under `torch.compile` and "
            f"`torch.export` (hover a mark for the reason).\n\n{md.unsearchable(table)}")


# ---- variants, links ------------------------------------------------------------------------------
def _config(config: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in config.items())


def variants_section(entry: Entry, variants: Sequence[Variant]) -> str:
    rows = [(f"`{v.name}`", _config(v.config), md.count(v.figures.params), md.si(v.figures.macs),
             md.ms(v.latency_row.get("latency_ms")) if v.latency_row else md.DASH) for v in variants]
    shape = variants[0].input if variants else ""
    return (f'Each variant is an id of its own: `create("{variants[0].name}")`, `encyclo show {variants[0].name}`. '
            f"Params and MACs counted at {shape}; latency: CPU, float32, inference, from the results.\n\n"
            + md.table(["Variant", "Configuration", "Params", "MACs", "Latency (ms)"], rows, align="llrrr"))


def _pct(new: int | None, old: int | None) -> str:
    if new is None or old is None or not old:
        return md.DASH
    return f"+{md.si(new - old)} ({(new - old) / old:+.1%})"


def used_in_section(entry: Entry, used_in: Sequence[Composition]) -> str:
    current = paths.entry_page(entry)
    rows = [(md.link(f"{c.base} + {entry.id}", paths.entry_page(c.architecture), current), md.count(c.figures.params),
             _pct(c.figures.params, c.base_figures.params), md.si(c.figures.macs),
             _pct(c.figures.macs, c.base_figures.macs)) for c in used_in]
    first = used_in[0]
    return (f"Architectures with an attention slot, with this block in every block's slot (counted at {first.input}; "
            f'build one with `create("{first.base}", attention="{entry.id}")`):\n\n'
            + md.table(["Architecture", "Params", "vs. without", "MACs", "vs. without"], rows, align="lrrrr"))


def links_section(page: EntryPage) -> str:
    entry, current = page.entry, paths.entry_page(page.entry)
    parts = []
    if page.used_in:
        parts.append("### Used in\n\n" + used_in_section(entry, page.used_in))
    if page.slot_blocks:
        base = entry.default_name
        blocks = ", ".join(md.link(f"`{b.id}`", paths.entry_page(b), current) for b in page.slot_blocks)
        parts.append(f"### Blocks for the attention slot\n\nAny `feature_map` block fills it, e.g. "
                     f'`create("{base}", attention="{page.slot_blocks[0].id}")`: {blocks}.')
    if page.related:
        parts.append("### Related\n\n" + md.unsearchable("\n".join(  # their own pages are indexed
            f"- {md.link(e.name, paths.entry_page(e), current)} — {e.summary}" for e in page.related)))
    title = paths.category_title(entry.category)
    others = [e for e in page.siblings if e not in page.related]
    if others:
        parts.append(f"### Other {title.lower()} entries\n\n" + md.unsearchable("\n".join(
            f"- {md.link(e.name, paths.entry_page(e), current)} (`{e.id}`, {e.paper.year})" for e in others)))
    parts.append(f"All {title.lower()} entries side by side: "
                 f"{md.link(title, paths.category_page(entry.category), current)}.")
    return "\n\n".join(parts)


# ---- the page -------------------------------------------------------------------------------------
def render(page: EntryPage) -> str:
    entry = page.entry
    lead, sections = article(page.readme) if page.readme else ("", "")
    parts = [front_matter(entry), header(entry), lead, "## Paper\n\n" + paper_card(entry.paper),
             "## Claims\n\n" + claims_table(page.claims), sections,
             "## API\n\n" + api_section(entry, page.api_identifier, page.source),
             "## Example\n\n" + example_section(page.example, page.has_notebook, entry)]
    if page.variants:
        parts.append("## Variants\n\n" + variants_section(entry, page.variants))
    parts.append("## Benchmarks\n\n" + bench_section(entry, page.rows, page.chart, page.chart_size))
    parts.append("## Compatibility\n\n" + compat_section(entry, page.rows))
    links = links_section(page)
    if links:
        parts.append("## See also\n\n" + links)
    return parts[0] + "\n" + "\n\n".join(p.strip("\n") for p in parts[1:] if p.strip()) + "\n"
