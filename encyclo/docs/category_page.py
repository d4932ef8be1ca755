"""Category pages (sortable comparison tables + a chart), the all-entries index, the home page's
generated blocks and the navigation file. Pure: registry objects and results rows in, Markdown out."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from ..registry import Entry
from ..schema import CATEGORIES
from . import markdown as md
from . import paths
from .charts import Bar, Point
from .entry_page import WARN, compat_table
from .results import Figures, is_stale, row_date

CATEGORY_BLURBS: dict[str, str] = {
    "attention": "Blocks that reweight features: channel gates, spatial gates, self-attention.",
    "normalization": "Layers that normalize activations over some axes and re-scale them.",
    "augmentation": "Data augmentations: per-image transforms and batch-level mixing.",
    "architectures": "Whole networks, with variants and slots that other entries fill.",
}
_MARKER = re.compile(r"<!--\s*encyclo:([a-z0-9_-]+)\s*-->")


@dataclass(frozen=True)
class CategoryRow:
    """One line of a category table: an entry (or one of its variants) at its reference input."""

    entry: Entry
    label: str  # the id, or the variant name
    variant: str | None
    input: str
    figures: Figures
    result: dict | None = None  # the results row of this config on the page's CPU device, if any


def _latency_cell(row: CategoryRow) -> str:
    r = row.result
    if r is None:
        return md.DASH
    if r.get("status") != "ok" or r.get("latency_ms") is None:
        return str(r.get("status") or "error")
    stale = f' <abbr title="measured on older code (code hash {r.get("code_hash")})">{WARN} stale</abbr>' \
        if is_stale(r, row.entry) else ""
    return md.ms(r["latency_ms"]) + stale


def _throughput_cell(row: CategoryRow) -> str:
    r = row.result
    return md.si(r.get("throughput_per_s")) if r and r.get("status") == "ok" else md.DASH


def category_table(rows: Sequence[CategoryRow], *, page: str) -> str:
    """Sortable table: modules get params/MACs/latency, augmentations throughput/latency."""
    modules = any(r.entry.is_module for r in rows)
    body = []
    for r in rows:
        name = md.link(r.label, paths.entry_page(r.entry), page)
        paper = f"[{r.entry.paper.venue}]({r.entry.paper.link})"
        if modules:
            body.append((name, r.entry.kind, md.count(r.figures.params), md.si(r.figures.macs), r.input,
                         _latency_cell(r), r.entry.paper.year, paper))
        else:
            body.append((name, r.entry.kind, f"`{r.entry.io}`", r.input, _throughput_cell(r), _latency_cell(r),
                         r.entry.paper.year, paper))
    headers = (["Entry", "Kind", "Params", "MACs", "Input", "Latency CPU (ms)", "Year", "Paper"] if modules else
               ["Entry", "Kind", "io", "Input", "Throughput CPU (/s)", "Latency CPU (ms)", "Year", "Paper"])
    return md.wrap(md.table(headers, body, align="llrrlrrl" if modules else "lllrrrrl"), "sortable")


def chart_bars(rows: Sequence[CategoryRow], results: Sequence[dict]) -> list[Bar]:
    """Throughput per entry at its reference input, one bar per device (augmentation categories)."""
    bars = []
    for r in rows:
        for res in _rows_at(r, results):
            if res.get("throughput_per_s"):
                bars.append(Bar(f"{r.label} ({r.input})", res["throughput_per_s"], res["device_name"],
                                stale=is_stale(res, r.entry)))
    return bars


def chart_points(rows: Sequence[CategoryRow], results: Sequence[dict]) -> list[Point]:
    """(MACs, latency) per entry at its reference input, one point per device (module categories)."""
    points = []
    for r in rows:
        for res in _rows_at(r, results):
            if res.get("macs") and res.get("latency_ms"):
                points.append(Point(r.label, res["macs"], res["latency_ms"], res["device_name"],
                                    stale=is_stale(res, r.entry)))
    return points


def _rows_at(row: CategoryRow, results: Sequence[dict]) -> list[dict]:
    default_dtype = "uint8" if row.entry.io == "image_augment" else "float32"
    return [res for res in results
            if res.get("id") == row.entry.id and res.get("kind") != "compat" and res.get("status") == "ok"
            and res.get("input") == row.input and res.get("variant") == row.variant and res.get("mode") == "infer"
            and res.get("dtype") == default_dtype and not res.get("channels_last") and not res.get("compile")]


def chart_note(results: Sequence[dict]) -> str:
    dates = sorted({row_date(r) for r in results})
    return f"encyclo bench results, {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "") if dates else ""


def category_page(category: str, rows: Sequence[CategoryRow], *, entries: Sequence[Entry], results: Sequence[dict],
                  chart: str | None, cpu_device: str | None, chart_size: tuple[int, int] | None = None) -> str:
    page = paths.category_page(category)
    title = paths.category_title(category)
    modules = any(r.entry.is_module for r in rows)
    what = ("Params and MACs are counted when the site is built (meta device) at each entry's reference input"
            if modules else "Throughput is items per second")
    measured = (f"latency and throughput come from the committed results measured on **{cpu_device}** "
                "(float32, or uint8 images; inference)" if cpu_device else
                "latency comes from committed results: none yet, hence the dashes")
    parts = [f"---\ntitle: {title}\nhide: [toc]\n---", f"# {title}", CATEGORY_BLURBS.get(category, ""),
             f"{len(entries)} entries. {what}; {measured}. Click a column header to sort; "
             f"{md.DASH}: not measured or not applicable.", category_table(rows, page=page)]
    if chart:
        alt = f"{'Latency vs MACs' if modules else 'Throughput'} of the {title.lower()} entries"
        parts.append(md.image(alt, chart.rsplit("/", 1)[-1], chart_size, "bench-chart"))
    compat = compat_table(results, entries)
    if compat:
        parts.append("## Compatibility\n\nFrom `encyclo bench` (hover n/a or ✗ for the reason).\n\n"
                     + md.unsearchable(compat))
    parts.append("## Entries\n\n" + "\n".join(
        f"- {md.link(e.name, paths.entry_page(e), page)} (`{e.id}`) — {e.summary}" for e in entries))
    return "\n\n".join(p for p in parts if p) + "\n"


# ---- the whole catalogue ---------------------------------------------------------------------------
def catalogue(entries: Sequence[Entry], *, page: str) -> str:
    """Entries per category, with links (the home page's generated block)."""
    counts = Counter(e.category for e in entries)
    rows = []
    for category in CATEGORIES:
        mine = [e for e in entries if e.category == category]
        if not mine:
            continue
        listing = ", ".join(md.link(e.id, paths.entry_page(e), page) for e in mine)
        rows.append((md.link(paths.category_title(category), paths.category_page(category), page),
                     counts[category], listing))
    return (f"**{len(entries)} entries** in {len(rows)} categories.\n\n"
            + md.table(["Category", "Entries", "Ids"], rows, align="lrl"))


def all_entries_page(entries: Sequence[Entry]) -> str:
    page = f"{paths.ENTRIES_DIR}/index.md"
    rows = [(md.link(e.name, paths.entry_page(e), page), f"`{e.id}`",
             md.link(paths.category_title(e.category), paths.category_page(e.category), page), e.kind,
             e.paper.year, f"[{e.paper.venue}]({e.paper.link})") for e in entries]
    return ("---\ntitle: All entries\n---\n\n# All entries\n\nEvery technique in encyclo; click a header to sort.\n\n"
            + md.wrap(md.table(["Entry", "Id", "Category", "Kind", "Year", "Paper"], rows, align="llllrl"),
                      "sortable") + "\n")


def whats_new(added: Sequence[tuple[Entry, str | None]], results: Sequence[dict], *, page: str, limit: int = 6) -> str:
    """Newest entries (by the date their folder was added to git; by paper year when unknown) and results."""
    dated = sorted(added, key=lambda pair: (pair[1] or "", pair[0].paper.year, pair[0].id), reverse=True)[:limit]
    lines = []
    for entry, date in dated:
        when = f"added {date}" if date else f"paper {entry.paper.year}"
        lines.append(f"- {md.link(entry.name, paths.entry_page(entry), page)} ({when}) — {entry.summary}")
    measured = [r for r in results if r.get("kind") != "compat"]
    if measured:
        by_device: dict[str, list[dict]] = {}
        for r in measured:
            by_device.setdefault(str(r.get("device_name")), []).append(r)
        for device, rows in sorted(by_device.items()):
            lines.append(f"- Benchmarks on **{html.escape(device)}**: {len(rows)} results, latest "
                         f"{max(row_date(r) for r in rows)}")
    else:
        lines.append("- No benchmark results committed yet (`encyclo bench --all --device cpu`).")
    return "\n".join(lines)


def fill_markers(text: str, blocks: dict[str, str]) -> str:
    """Replace ``<!-- encyclo:NAME -->`` markers of a hand-written page by generated Markdown."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in blocks:
            raise KeyError(f"no generated block named '{m.group(1)}' (known: {', '.join(sorted(blocks))})")
        return blocks[m.group(1)]

    return _MARKER.sub(sub, text)


def nav(entries: Sequence[Entry]) -> str:
    """literate-nav file for docs/entries/: the index, then each category page and its entries."""
    lines = ["* [All entries](index.md)"]
    for category in CATEGORIES:
        mine = [e for e in entries if e.category == category]
        if not mine:
            continue
        lines.append(f"* [{paths.category_title(category)}]({category}/index.md)")
        lines += [f"    * [{e.name}]({category}/{e.id}/index.md)" for e in mine]
    return "\n".join(lines) + "\n"
