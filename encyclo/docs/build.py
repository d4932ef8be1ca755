"""The site's build-time side: gather what the pages show and hand back the generated files.

:meth:`Site.generate` reads the registry and the committed results rows, evaluates claims (meta-device
counting), counts params/MACs at each category's reference input, executes the examples, draws the
charts, and returns ``{docs path: text or bytes}`` for mkdocs-gen-files to write. It never benchmarks.

Everything slow is cached under ``<cache>/`` (``.cache/`` in a checkout): executed notebooks by the
hash of the entry folder; claims and counts by the hash of the entry's files and of encyclo's own
measuring code; charts by the hash of the rows they draw. A rebuild with nothing changed imports
neither torch nor matplotlib.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

from ..claims import ClaimResult
from ..files import write_atomically
from ..registry import Entry, Registry, builtin_root, registry
from . import category_page as cat
from . import entry_page as ep
from . import markdown as md
from . import notebooks, paths
from .charts import Bar, bar_chart, scatter_chart
from .results import (Figures, compat_rows, devices, find_row, main_device, measure_rows, reference_input,
                      row_date)

log = logging.getLogger("mkdocs.encyclo.site")
PACKAGE = Path(__file__).resolve().parent.parent
CACHE_FORMAT = "1"
_ASSETS = (".py", ".yaml", ".png", ".jpg", ".jpeg", ".svg", ".gif", ".csv", ".json", ".txt")


# ---- caches ---------------------------------------------------------------------------------------
def engine_hash() -> str:
    """Hash of encyclo's own code outside encyclo/docs: counting and claims results depend on it."""
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        if "docs" not in path.relative_to(PACKAGE).parts[:1]:
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def files_hash(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"<missing>") + b"\0")
    return digest.hexdigest()[:16]


class JsonCache:
    """A dict persisted as one JSON file; entries not used by a build are dropped when it is saved."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._old: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._old = {}
        self._new: dict[str, Any] = {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._new:
            self._new[key] = self._old[key] if key in self._old else compute()
        return self._new[key]

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self._new, sort_keys=True, default=str))  # concurrent builds


class ChartCache:
    """PNG files keyed by a hash of what they draw."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[Path] = set()

    def get(self, spec: Any, draw: Callable[[], bytes]) -> bytes:
        key = hashlib.sha256(repr(spec).encode()).hexdigest()[:16]
        path = self.folder / f"{key}.png"
        self.used.add(path)
        if path.exists():
            return path.read_bytes()
        data = draw()
        write_atomically(path, data)  # a concurrent build never reads half a chart
        return data

    def prune(self) -> None:
        for path in self.folder.glob("*.png") if self.folder.is_dir() else ():
            if path not in self.used:
                path.unlink()


# ---- measuring at build time (meta device; never timing) --------------------------------------------
def count_at(name: str, shape: str) -> dict:
    """Params and MACs of an entry, variant or composition at an input shape, counted on the meta device."""
    from ..contracts import parse_shape
    from ..measure import Subject, count

    try:
        counted = count(Subject.of(name, parse_shape(shape)))
    except Exception as exc:  # reported (a warning fails --strict) and shown as a dash
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"params": counted.params, "macs": counted.macs} if counted is not None else {}


def _claims_payload(entry: Entry) -> list[dict]:
    from ..claims import evaluate_claims

    return [{"measured": r.measured, "error": r.error} for r in evaluate_claims(entry)]


def git_added_dates(root: Path) -> dict[str, str]:
    """Entry folder (relative to the repo) -> date its entry.yaml was first committed; {} without git."""
    try:
        out = subprocess.run(["git", "log", "--diff-filter=A", "--format=@%cs", "--name-only", "--",
                              "entries/*/*/entry.yaml"], cwd=root, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return {}
    dates: dict[str, str] = {}
    date = ""
    for line in out.stdout.splitlines() if out.returncode == 0 else []:
        if line.startswith("@"):
            date = line[1:]
        elif line.strip():
            dates[str(Path(line).parent)] = date  # newest first: the last assignment is the first add
    return dates


# ---- the site --------------------------------------------------------------------------------------
class Site:
    def __init__(self, reg: Registry, results: Sequence[dict], cache_dir: Path, *, workers: int | None = None):
        self.reg = reg
        self.entries = reg.entries()
        self.results = list(results)
        self.cache_dir = cache_dir
        self.engine = engine_hash()
        self.counts = JsonCache(cache_dir / "site" / "counts.json")
        self.claims = JsonCache(cache_dir / "site" / "claims.json")
        self.charts = ChartCache(cache_dir / "site" / "charts")
        self.cpu_device = main_device(self.results, "cpu")
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.files: dict[str, str | bytes] = {}

    # -- figures
    def figures(self, name: str, shape: str, *entries: Entry) -> Figures:
        key = f"{name}@{shape}:{self.engine}:" + ",".join(e.code_hash for e in entries)
        data = self.counts.get(key, lambda: count_at(name, shape))
        if "error" in data:
            log.warning("encyclo: cannot count params/MACs of '%s' at %s: %s", name, shape, data["error"])
        return Figures(data.get("params"), data.get("macs"))

    def claim_results(self, entry: Entry) -> list[ClaimResult]:
        key = f"{entry.id}:{self.engine}:{files_hash(entry.impl_file, entry.yaml_file, entry.test_file)}"
        payload = self.claims.get(key, lambda: _claims_payload(entry))
        return [ClaimResult(c, p["measured"], p["error"]) for c, p in zip(entry.claims, payload)]

    # -- examples
    def _start_examples(self, pool: ThreadPoolExecutor) -> dict[str, Future]:
        folder = self.cache_dir / "notebooks"
        threads = str(max(1, (os.cpu_count() or 1) // self.workers))
        return {e.id: pool.submit(notebooks.executed, e.example_file, name=e.id, cache_dir=folder,
                                  threads=threads)
                for e in self.entries if e.example_file.exists()}

    def _add_example(self, entry: Entry, nb: Any) -> str:
        import nbformat

        text, images = notebooks.to_markdown(nb, image_prefix="example")
        for name, data in images.items():
            self.files[paths.entry_asset(entry, name)] = data
        self.files[paths.entry_notebook(entry)] = nbformat.writes(nb)
        return text

    # -- pages
    def _api_identifier(self, entry: Entry) -> str | None:
        """``category.id.id.Impl`` for entries under encyclo's own entries/ (mkdocstrings ``paths: [entries]``)."""
        try:
            rel = entry.folder.resolve().relative_to(builtin_root().resolve())
        except ValueError:
            return None
        return ".".join([*rel.parts, entry.id, entry.impl])

    def _related(self, entry: Entry) -> list[Entry]:
        ids = list(dict.fromkeys([*entry.related, *(e.id for e in self.entries if entry.id in e.related)]))
        return [e for e in self.entries if e.id in ids and e.id != entry.id]

    def _variants(self, entry: Entry) -> list[ep.Variant]:
        shape = reference_input(entry)
        default = entry.default_name
        out = []
        for name, config in entry.variants.items():
            row = find_row(self.results, entry_id=entry.id, input=shape, device_name=self.cpu_device, variant=name)
            if row is None and name == default:
                row = find_row(self.results, entry_id=entry.id, input=shape, device_name=self.cpu_device)
            out.append(ep.Variant(name, config, shape, self.figures(name, shape, entry), row))
        return out

    def _used_in(self, entry: Entry) -> list[ep.Composition]:
        if entry.io != "feature_map" or entry.category != "attention":
            return []
        out = []
        for arch in (e for e in self.entries if "attention" in e.slots):
            base, shape = arch.default_name, reference_input(arch)
            out.append(ep.Composition(arch, base, shape, self.figures(f"{base}+{entry.id}", shape, arch, entry),
                                      self.figures(base, shape, arch)))
        return out

    def _entry_chart(self, entry: Entry, rows: list[dict]) -> str | None:
        measured = [r for r in rows if r.get("kind") != "compat" and r.get("status") == "ok" and r.get("latency_ms")]
        if not measured:
            return None
        bars = [Bar(f"{r.get('name') or r['id']} {r.get('input')} {r.get('dtype')} {r.get('mode')}"
                    + "".join(f" +{f}" for f in ("channels_last", "compile") if r.get(f)),
                    r["latency_ms"], r["device_name"], r.get("latency_p10_ms"), r.get("latency_p90_ms"),
                    stale=r.get("code_hash") != entry.code_hash)
                for device in devices(measured) for r in sorted(
                    (r for r in measured if r["device_name"] == device),
                    key=lambda r: (r.get("input", ""), r.get("dtype", ""), r.get("mode", "")))]
        dates = sorted({row_date(r) for r in measured})
        note = f"{', '.join(devices(measured))}; measured {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "")
        title = f"{entry.id}: latency per configuration (median, p10-p90)"
        png = self.charts.get(("bar", bars, title, note), lambda: bar_chart(bars, title=title, xlabel="ms", note=note))
        self.files[paths.entry_chart(entry)] = png
        return paths.entry_chart(entry)

    def _entry_page(self, entry: Entry, example: str | None) -> str:
        rows = [*measure_rows(self.results, entry.id), *compat_rows(self.results, entry.id)]
        chart = self._entry_chart(entry, rows)
        page = ep.EntryPage(
            entry=entry, claims=self.claim_results(entry),
            readme=entry.readme_file.read_text(encoding="utf-8") if entry.readme_file.exists() else None,
            api_identifier=self._api_identifier(entry), source=entry.impl_file.read_text(encoding="utf-8"),
            example=example, has_notebook=example is not None, rows=rows,
            chart=chart.rsplit("/", 1)[-1] if chart else None,
            chart_size=md.png_size(self.files[chart]) if chart else None,
            variants=self._variants(entry) if entry.variants else (), used_in=self._used_in(entry),
            slot_blocks=[e for e in self.entries if e.io == "feature_map" and e.category == "attention"]
            if "attention" in entry.slots else (),
            related=self._related(entry), siblings=[e for e in self.entries
                                                   if e.category == entry.category and e.id != entry.id])
        for asset in sorted(entry.folder.iterdir()):  # the entry's files, for download and the README's links
            if asset.is_file() and asset.name != "README.md" and asset.suffix.lower() in _ASSETS:
                self.files[paths.entry_asset(entry, asset.name)] = asset.read_bytes()
        return ep.render(page)

    def _category_rows(self, entries: list[Entry]) -> list[cat.CategoryRow]:
        rows = []
        for e in entries:
            shape = reference_input(e)
            configs = [(v, v) for v in e.variants] or [(e.id, None)]
            for label, variant in configs:
                figures = self.figures(label, shape, e) if e.is_module else Figures()
                result = find_row(self.results, entry_id=e.id, input=shape, device_name=self.cpu_device,
                                  variant=variant)
                if result is None and variant == e.default_name:
                    result = find_row(self.results, entry_id=e.id, input=shape, device_name=self.cpu_device)
                rows.append(cat.CategoryRow(e, label, variant, shape, figures, result))
        return rows

    def _category_chart(self, category: str, rows: list[cat.CategoryRow]) -> str | None:
        title = paths.category_title(category)
        mine = [r for r in self.results if r.get("category") == category]
        note = cat.chart_note(mine)
        if any(r.entry.is_module for r in rows):
            points = cat.chart_points(rows, self.results)
            if not points:
                return None
            spec = ("scatter", points, title, note)
            png = self.charts.get(spec, lambda: scatter_chart(
                points, title=f"{title}: latency vs MACs at the reference input (float32, inference)",
                xlabel="MACs", ylabel="latency (ms)", note=note))
        else:
            bars = cat.chart_bars(rows, self.results)
            if not bars:
                return None
            spec = ("bars", bars, title, note)
            png = self.charts.get(spec, lambda: bar_chart(bars, title=f"{title}: throughput (items/s)",
                                                          xlabel="items / s", note=note))
        self.files[paths.category_chart(category)] = png
        return paths.category_chart(category)

    def generate(self) -> dict[str, str | bytes]:
        with ThreadPoolExecutor(self.workers) as pool:
            pending = self._start_examples(pool)  # kernels run while the main thread counts
            for entry in self.entries:
                self.claim_results(entry)
            examples = {}
            for entry_id, future in pending.items():
                examples[entry_id] = future.result()  # ExampleError names the entry
        for entry in self.entries:
            example = self._add_example(entry, examples[entry.id]) if entry.id in examples else None
            self.files[paths.entry_page(entry)] = self._entry_page(entry, example)
        for category in dict.fromkeys(e.category for e in self.entries):
            entries = [e for e in self.entries if e.category == category]
            rows = self._category_rows(entries)
            chart = self._category_chart(category, rows)
            self.files[paths.category_page(category)] = cat.category_page(
                category, rows, entries=entries, results=self.results, chart=chart, cpu_device=self.cpu_device,
                chart_size=md.png_size(self.files[chart]) if chart else None)
        self.files[f"{paths.ENTRIES_DIR}/index.md"] = cat.all_entries_page(self.entries)
        self.files[f"{paths.ENTRIES_DIR}/SUMMARY.txt"] = cat.nav(self.entries)
        for cache in (self.counts, self.claims):
            cache.save()
        self.charts.prune()
        return self.files

    def home_blocks(self, page: str = "index.md") -> dict[str, str]:
        """The generated blocks of the hand-written home page (``<!-- encyclo:NAME -->`` markers)."""
        added = git_added_dates(builtin_root().parent)
        pairs = []
        for e in self.entries:
            try:
                key = str(e.folder.resolve().relative_to(builtin_root().parent.resolve()))
            except ValueError:
                key = ""
            pairs.append((e, added.get(key)))
        return {"catalogue": cat.catalogue(self.entries, page=page),
                "whats-new": cat.whats_new(pairs, self.results, page=page)}


def site(results: Sequence[dict] | None = None, *, results_dir: Path | None = None, cache_dir: Path | None = None,
         reg: Registry | None = None) -> Site:
    """A Site over the process registry and the committed results (``benchmarks/results/``)."""
    if results is None:
        from ..bench import load_results

        results = load_results(results_dir)
    return Site(reg or registry(), results, cache_dir or Path(".cache"))
