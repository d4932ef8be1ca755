"""Rendering rows (lists of dicts with stable snake_case keys) as a table, markdown, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

FORMATS = ("table", "markdown", "json", "csv")


def render(rows: Sequence[dict], columns: Sequence[tuple[str, str]], fmt: str = "table",
           formatters: dict[str, Any] | None = None) -> str:
    """Render rows; ``columns`` is (key, header) pairs; json/csv keep raw values, others use formatters."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[k for k, _ in columns], extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k, _ in columns})
        return buf.getvalue().rstrip("\n")
    formatters = formatters or {}
    cells = [[_cell(row.get(k), formatters.get(k), row) for k, _ in columns] for row in rows]
    headers = [h for _, h in columns]
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(_looks_numeric(r[i]) for r in cells) and cells for i in range(len(headers))]
    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value: Any, formatter: Any, row: dict) -> str:
    if formatter is not None:
        return formatter(value, row)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _csv_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace("×", "").replace("+", "").strip()
    for suffix in (" ms", " GMACs", " MMACs", " KMACs", " G", " M", " K", " MiB", " KiB", " GiB", " B", "x"):
        stripped = stripped.removesuffix(suffix)
    try:
        float(stripped.split()[0] if stripped else "x")
        return True
    except ValueError:
        return text == "-"


def human(value: float | int | None, unit: str = "") -> str:
    """4089184256 -> '4.089 G'; for table cells."""
    if value is None:
        return "-"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {suffix}{unit}".rstrip()
    return f"{value:.4g} {unit}".rstrip() if isinstance(value, float) else f"{value} {unit}".rstrip()


def human_bytes(value: float | int | None) -> str:
    if value is None:
        return "-"
    for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{int(value)} B"
