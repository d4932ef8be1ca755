"""``encyclo compare``: entries side by side on one input, each figure also relative to the first entry."""

from __future__ import annotations

from typing import Any

from .measure import Config, measure_many
from .table import human, human_bytes, render

RELATIVE_KEYS = ("params", "macs", "flops", "latency_ms", "peak_memory_bytes")

COLUMNS = [("name", "entry"), ("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"),
           ("latency_ms", "latency (median)"), ("latency_p10_ms", "p10-p90"), ("peak_memory_bytes", "peak mem"),
           ("output_shape", "output"), ("year", "year")]


def add_relative(rows: list[dict]) -> list[dict]:
    """``<key>_rel`` = row[key] / first[key] for every figure, so 1.00 is the first entry."""
    first = next((r for r in rows if r.get("status") == "ok"), None)
    for row in rows:
        for key in RELATIVE_KEYS:
            a, b = row.get(key), (first or {}).get(key)
            row[f"{key}_rel"] = (a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
    return rows


def compare(names: list[str], shape: tuple[int, ...], config: Config, *, budget_s: float = 1.0,
            roofline: bool = False) -> list[dict]:
    return add_relative(measure_many(names, shape, config, budget_s=budget_s, with_roofline=roofline))


def _rel(key: str):
    def fmt(value: Any, row: dict) -> str:
        if row.get("status") != "ok" and value is None:
            return "-"
        rel = row.get(f"{key}_rel")
        base = {"params": lambda v: human(v), "macs": lambda v: human(v), "flops": lambda v: human(v),
                "latency_ms": lambda v: f"{v:.3f} ms" if v is not None else "-",
                "peak_memory_bytes": human_bytes}[key](value)
        return f"{base} ({rel:.2f}x)" if rel is not None and base != "-" else base
    return fmt


def render_compare(rows: list[dict], fmt: str = "table", *, roofline: bool = False) -> str:
    columns = list(COLUMNS)
    if roofline:
        columns += [("achieved_gbps", "GB/s"), ("achieved_gflops", "GFLOP/s"), ("bound", "bound"),
                    ("pct_of_roofline", "% roofline")]
    if fmt in ("json", "csv"):
        keys: list[str] = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        return render(rows, [(k, k) for k in keys], fmt)
    formatters = {key: _rel(key) for key in RELATIVE_KEYS}
    formatters["latency_p10_ms"] = lambda v, r: (f"{v:.3f}-{r['latency_p90_ms']:.3f}" + (" noisy" if r.get("noisy") else "")
                                                 if v is not None else "-")
    formatters["name"] = lambda v, r: v if r.get("status") == "ok" else f"{v} [{r['status']}: {r.get('error', '')[:60]}]"
    formatters["achieved_gbps"] = lambda v, r: f"{v:.1f}" if v is not None else "-"
    formatters["achieved_gflops"] = lambda v, r: f"{v:.1f}" if v is not None else "-"
    formatters["pct_of_roofline"] = lambda v, r: f"{v:.0f}%" if v is not None else "-"
    return render(rows, columns, fmt, formatters)


def describe(rows: list[dict]) -> str:
    """One line of conditions under the table (device, dtype, mode, threads)."""
    if not rows:
        return ""
    r = rows[0]
    threads = f", {r['threads']} threads" if r.get("threads") else ""
    extra = "".join(f", {k}" for k in ("channels_last", "compile") if r.get(k))
    uncounted = sorted({op for row in rows for op in row.get("uncounted_ops") or []})
    note = f"\nops with no FLOP estimate (not in FLOPs): {', '.join(uncounted)}" if uncounted else ""
    return (f"input {r['input']} | {r['device_name']} ({r['device']}{threads}) | {r['dtype']} | {r['mode']}{extra} | "
            f"MACs counted on {r.get('count_device', 'meta')}; latency median of interleaved samples{note}")
