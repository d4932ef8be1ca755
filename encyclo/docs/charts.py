"""PNG charts of committed results, drawn with matplotlib's object API (no pyplot state, no display).

Inputs are plain records (:class:`Bar`, :class:`Point`) built from results rows by the page modules;
the output is the PNG's bytes, deterministic for the same input.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

_COLORS = ("#3f51b5", "#e65100", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False,
          "axes.grid": True, "grid.alpha": 0.3, "svg.hashsalt": "encyclo"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    group: str  # one colour per group (the device)
    low: float | None = None  # error bar (e.g. p10)
    high: float | None = None  # error bar (e.g. p90)
    stale: bool = False


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    group: str  # one marker per group (the device)
    stale: bool = False


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _log_scale_wanted(values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0]
    return len(positive) > 1 and max(positive) / min(positive) > 30


def bar_chart(bars: Sequence[Bar], *, title: str, xlabel: str, note: str = "") -> bytes:
    """Horizontal bars, top to bottom in the given order; stale bars hatched and marked."""
    import matplotlib
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(b.group for b in bars))
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 1.3 + 0.32 * len(bars)))
        ax = fig.add_subplot()
        ys = list(range(len(bars)))[::-1]
        for y, b in zip(ys, bars):
            color = _COLORS[groups.index(b.group) % len(_COLORS)]
            xerr = None
            if b.low is not None and b.high is not None:
                xerr = [[max(0.0, b.value - b.low)], [max(0.0, b.high - b.value)]]
            ax.barh(y, b.value, color="none" if b.stale else color, edgecolor=color, hatch="///" if b.stale else None,
                    xerr=xerr, ecolor="#555", capsize=2, height=0.7)
        ax.set_yticks(ys, [b.label + (" (stale)" if b.stale else "") for b in bars])
        ax.set_xlabel(xlabel)
        if _log_scale_wanted([b.value for b in bars]):
            ax.set_xscale("log")
        ax.grid(axis="y", visible=False)
        if len(groups) > 1:
            from matplotlib.patches import Patch

            ax.legend(handles=[Patch(color=_COLORS[i % len(_COLORS)], label=g) for i, g in enumerate(groups)],
                      loc="lower right", fontsize=8, frameon=False)
        ax.set_title(title, loc="left")
        if note:
            fig.text(0.01, 0.005, note, fontsize=7.5, color="#555", ha="left", va="bottom")
            fig.subplots_adjust(bottom=0.1 + 0.4 / max(3, len(bars)))
        return _png(fig)


def scatter_chart(points: Sequence[Point], *, title: str, xlabel: str, ylabel: str, note: str = "") -> bytes:
    """Log-log scatter, one labelled point per record; stale points hollow."""
    import matplotlib
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(p.group for p in points))
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 4.2))
        ax = fig.add_subplot()
        for i, group in enumerate(groups):
            mine = [p for p in points if p.group == group]
            color = _COLORS[i % len(_COLORS)]
            for p in mine:
                ax.scatter([p.x], [p.y], marker=_MARKERS[i % len(_MARKERS)], s=36, zorder=3,
                           facecolors="none" if p.stale else color, edgecolors=color)
                ax.annotate(p.label + (" (stale)" if p.stale else ""), (p.x, p.y), textcoords="offset points",
                            xytext=(5, 4), fontsize=7.5)
            ax.scatter([], [], marker=_MARKERS[i % len(_MARKERS)], color=color, label=group)
        if _log_scale_wanted([p.x for p in points]):
            ax.set_xscale("log")
        if _log_scale_wanted([p.y for p in points]):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if len(groups) > 1:
            ax.legend(loc="best", fontsize=8, frameon=False)
        ax.set_title(title, loc="left")
        ax.margins(x=0.15, y=0.15)
        if note:
            fig.text(0.01, 0.005, note, fontsize=7.5, color="#555", ha="left", va="bottom")
            fig.subplots_adjust(bottom=0.16)
        return _png(fig)
