"""Small Markdown building blocks: tables, cell escaping, number formats, relative links."""

from __future__ import annotations

import math
import posixpath
from typing import Any, Sequence

DASH = "—"  # an empty cell: not measured / not applicable


def cell(value: Any) -> str:
    """Markdown safe inside a table cell (pipes escaped, one line); prose goes through :func:`plain` first."""
    text = DASH if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def plain(text: str) -> str:
    """Prose from entry.yaml (a claim's source, a deviation) shown as written, not as Markdown:
    ``[p1, p2][a1 l1]`` must not become a reference link, nor ``x_i * y_i`` emphasis."""
    out = str(text).replace("\\", "\\\\")
    for ch in "[]*_`<>":
        out = out.replace(ch, "\\" + ch)
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | None = None) -> str:
    """A pipe table; ``align`` is one character per column: l, r or c (default: all left)."""
    align = align or "l" * len(headers)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def wrap(markdown: str, css_class: str) -> str:
    """A ``<div class=...>`` around Markdown (md_in_html), e.g. to make a table sortable."""
    return f'<div class="{css_class}" markdown>\n\n{markdown}\n\n</div>'


def unsearchable(markdown: str, css_class: str = "") -> str:
    """Markdown kept out of the search index (material skips ``data-search-exclude`` elements)."""
    cls = f' class="{css_class}"' if css_class else ""
    return f'<div{cls} data-search-exclude="true" markdown>\n\n{markdown}\n\n</div>'


def code_block(code: str, lang: str = "") -> str:
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{lang}\n{code.rstrip()}\n{fence}"


def indent(text: str, spaces: int = 4) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def count(n: int | None) -> str:
    """Exact counts with thousands separators: 25,557,032."""
    return DASH if n is None else f"{int(n):,}"


def si(n: float | None, unit: str = "") -> str:
    """Large figures with an SI prefix and three significant digits: 4.09 G, 512."""
    if n is None:
        return DASH
    n = float(n)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {prefix}{unit}".rstrip()
    return f"{n:.3g} {unit}".rstrip() if not n.is_integer() else f"{int(n)} {unit}".rstrip()


def ms(value: float | None) -> str:
    """A latency in milliseconds with three significant digits (0.0472, 1.25, 138)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def nbytes(n: int | None) -> str:
    if n is None:
        return DASH
    for factor, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} B"


def value(v: Any) -> str:
    """A claim's figure as written: exact integers with separators, floats to 4 significant digits."""
    if isinstance(v, bool) or v is None:
        return str(v).lower() if isinstance(v, bool) else DASH
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() and abs(v) >= 1000 else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return str(v)


def link(text: str, target: str, current: str) -> str:
    """A Markdown link from page ``current`` to docs file ``target`` (both relative to docs/)."""
    return f"[{text}]({relpath(target, current)})"


def relpath(target: str, current: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(current) or ".")


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG from its IHDR chunk, or None for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def image(alt: str, src: str, size: tuple[int, int] | None = None, css_class: str = "") -> str:
    """An image with attr_list attributes: class, lazy loading, and its size (no layout shift)."""
    attrs = [f".{css_class}"] if css_class else []
    attrs.append("loading=lazy")
    if size:
        attrs += [f"width={size[0]}", f"height={size[1]}"]
    return f"![{alt}]({src}){{ {' '.join(attrs)} }}"
