"""Choosing rows from the committed benchmark results for a page (pure: rows in, rows out).

Rows are the dicts ``encyclo bench`` writes (``benchmarks/results/*.jsonl``, keys documented in
docs/measuring.md). Measurement rows have no ``kind`` or ``kind: "measure"``; compatibility rows have
``kind: "compat"`` and ``compat_*`` keys.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..registry import Entry

# The input each io contract is compared at on category pages (an entry's bench inputs decide when
# they do not include it: see reference_input).
REFERENCE_INPUTS: dict[str, str] = {
    "feature_map": "1x64x56x56",
    "tokens": "1x197x768",
    "classifier": "1x3x224x224",
    "dense": "1x3x224x224",
}
COMPAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("compat_eager_cpu", "CPU"), ("compat_eager_cuda", "CUDA"), ("compat_bfloat16", "bf16"),
    ("compat_channels_last", "channels_last"), ("compat_compile", "compile"), ("compat_export", "export"),
)


@dataclass(frozen=True)
class Figures:
    """Params and MACs of one configuration at one input, counted at build time (None: not a module)."""

    params: int | None = None
    macs: int | None = None


def reference_input(entry: Entry) -> str:
    """The category's reference input when the entry's bench spec measures it, else its first bench input."""
    standard = REFERENCE_INPUTS.get(entry.io)
    return standard if standard in entry.bench.inputs else entry.bench.inputs[0]


def is_compat(row: dict) -> bool:
    return row.get("kind") == "compat"


def measure_rows(rows: Iterable[dict], entry_id: str) -> list[dict]:
    return [r for r in rows if r.get("id") == entry_id and not is_compat(r)]


def compat_rows(rows: Iterable[dict], entry_id: str) -> list[dict]:
    return [r for r in rows if r.get("id") == entry_id and is_compat(r)]


def is_stale(row: dict, entry: Entry) -> bool:
    """Measured on other code than the entry's current implementation + entry.yaml."""
    return row.get("code_hash") != entry.code_hash


def row_date(row: dict) -> str:
    """The day a row was measured (``YYYY-MM-DD``), or ``?``."""
    stamp = str(row.get("timestamp") or "")
    return stamp[:10] if len(stamp) >= 10 else "?"


def main_device(rows: Iterable[dict], device: str = "cpu") -> str | None:
    """The device name with the most measurement rows of this device kind (``cpu`` or ``cuda``)."""
    names = Counter(r.get("device_name") for r in rows
                    if not is_compat(r) and str(r.get("device", "")).startswith(device) and r.get("device_name"))
    return names.most_common(1)[0][0] if names else None


def find_row(rows: Sequence[dict], *, entry_id: str, input: str, device_name: str | None, variant: str | None = None,
             dtype: str | None = None, mode: str = "infer") -> dict | None:
    """The row measured for this configuration (default dtype: float32, or uint8 for image augmentations)."""
    if device_name is None:
        return None
    for row in rows:
        if (row.get("id") == entry_id and not is_compat(row) and row.get("device_name") == device_name
                and row.get("input") == input and row.get("variant") == variant and row.get("mode") == mode
                and row.get("dtype") == (dtype or ("uint8" if row.get("io") == "image_augment" else "float32"))
                and not row.get("channels_last") and not row.get("compile")):
            return row
    return None


def devices(rows: Iterable[dict]) -> list[str]:
    """Device names in rows, CPU ones first, each once."""
    seen: dict[str, bool] = {}
    for r in rows:
        if r.get("device_name"):
            seen.setdefault(r["device_name"], str(r.get("device", "")).startswith("cuda"))
    return sorted(seen, key=lambda name: (seen[name], name))
