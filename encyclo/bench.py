"""``encyclo bench``: each entry's bench spec (inputs x dtypes x modes) -> JSON Lines results rows.

Every row is stamped with torch version, device name, the entry's code hash and the git commit. The
results file is rewritten atomically after every row (temp file + ``os.replace``), so a killed run
loses nothing and a rerun skips what is already measured for the current code. Out-of-memory and
errors become rows (``status`` ``oom``/``error``) and the run goes on. Rows whose code hash no longer
matches the entry are *stale*: reported here, marked on the site, re-measured by the next run.

Under ``torchrun`` (or SLURM / MPI rank variables) the (entry x config) grid is sharded by rank:
item i goes to rank i mod world_size; each rank writes ``<out>.rank<r>.jsonl`` and rank 0 merges.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import platform
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .contracts import parse_shape
from .files import write_atomically
from .registry import EncycloError, Entry, builtin_root, registry

KEY_FIELDS = ("id", "name", "variant", "input", "dtype", "mode", "device_name", "channels_last", "compile")
COMPAT_CHECKS = ("eager_cpu", "eager_cuda", "bfloat16", "channels_last", "compile", "export")


def default_results_dir() -> Path:
    """benchmarks/results/ of the checkout when run from one, else ./benchmarks/results/."""
    checkout = builtin_root().parent / "benchmarks" / "results"
    return checkout if checkout.parent.is_dir() else Path.cwd() / "benchmarks" / "results"


def row_key(row: dict) -> tuple:
    return (row.get("kind", "measure"),) + tuple(row.get(k) for k in KEY_FIELDS)


# ---- results files ---------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict]:
    """Rows of a JSON Lines file; a torn last line (a run killed mid-write by older tools) is skipped."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise EncycloError(f"{path}:{number}: not a JSON results row ({exc.msg})") from exc
    return rows


def write_rows(path: Path, rows: Iterable[dict]) -> None:
    """Replace the file atomically: readers see the old or the new file, never half of one."""
    write_atomically(path, "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows))


def merge_rows(groups: Iterable[list[dict]]) -> list[dict]:
    """Union of rows; for one key (and code hash) the newest row wins. Sorted for stable diffs."""
    best: dict[tuple, dict] = {}
    for rows in groups:
        for row in rows:
            key = row_key(row) + (row.get("code_hash"),)
            if key not in best or str(row.get("timestamp", "")) >= str(best[key].get("timestamp", "")):
                best[key] = row
    return sorted(best.values(), key=lambda r: tuple(str(v) for v in row_key(r)) + (str(r.get("timestamp")),))


def stale_rows(rows: list[dict]) -> list[dict]:
    """Rows measured on code that has changed since (or on entries that no longer exist)."""
    reg = registry()
    out = []
    for row in rows:
        try:
            current = reg.entry(row["id"]).code_hash
        except (KeyError, EncycloError):
            current = None
        if current != row.get("code_hash"):
            out.append(row)
    return out


def current_rows(rows: list[dict]) -> list[dict]:
    stale = {id(r) for r in stale_rows(rows)}
    return [r for r in rows if id(r) not in stale]


# ---- stamping --------------------------------------------------------------------------------
def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=builtin_root().parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment_stamp(device: str) -> dict:
    import torch

    stamp = {"torch_version": torch.__version__, "python_version": platform.python_version(),
             "git_commit": git_commit(), "hostname": platform.node()}
    if device.startswith("cuda"):
        stamp.update(cuda_version=torch.version.cuda, cudnn_benchmark=torch.backends.cudnn.benchmark,
                     tf32_matmul=torch.backends.cuda.matmul.allow_tf32, tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return stamp


# ---- the grid --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    entry_id: str
    input: str
    dtype: str
    mode: str
    kind: str = "measure"  # or "baseline" (timed beside the entry), or "compat"
    baseline: str | None = None

    @property
    def name(self) -> str:
        return f"{self.entry_id}@{self.baseline}" if self.baseline else self.entry_id


def grid(entries: list[Entry], *, modes: list[str] | None = None, dtypes: list[str] | None = None,
         inputs: list[str] | None = None, compat: bool = True, measure: bool = True,
         first_input: bool = False) -> list[Item]:
    """The deterministic (entry x config) grid; ``modes``/``dtypes``/``inputs`` filter the bench specs."""
    items = []
    for e in sorted(entries, key=lambda e: e.id):
        shapes = list(inputs or e.bench.inputs)[:1 if first_input else None]  # the spec's first: its reference
        for shape in shapes if measure else ():
            if inputs and shape.count("x") != e.bench.inputs[0].count("x"):
                continue
            for dtype in e.bench.dtypes:
                if dtypes and dtype not in dtypes:
                    continue
                for mode in e.bench.modes:
                    if modes and mode not in modes:
                        continue
                    items.append(Item(e.id, shape, dtype, mode))
                    for baseline in e.baselines:  # torch's / numpy's implementation, timed under the same config
                        items.append(Item(e.id, shape, dtype, mode, kind="baseline", baseline=baseline))
        if compat:
            items.append(Item(e.id, e.bench.inputs[0], e.bench.dtypes[0], "infer", kind="compat"))
    return items


def shard(items: list[Item], rank: int, world: int) -> list[Item]:
    return [item for i, item in enumerate(items) if i % world == rank]


def rank_and_world() -> tuple[int, int]:
    """From torchrun (RANK/WORLD_SIZE), SLURM (SLURM_PROCID/SLURM_NTASKS) or MPI (OMPI_/PMI_)."""
    for rank_var, world_var in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS"),
                                ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")):
        if rank_var in os.environ and world_var in os.environ:
            try:
                rank, world = int(os.environ[rank_var]), int(os.environ[world_var])
            except ValueError:
                raise EncycloError(f"{rank_var}/{world_var} must be integers, got "
                                   f"{os.environ[rank_var]!r}/{os.environ[world_var]!r}") from None
            if not 0 <= rank < world:
                raise EncycloError(f"{rank_var}={rank} is outside 0..{world - 1}")
            return rank, world
    return 0, 1


def _item_key(item: Item, device_name: str) -> tuple:
    """The row_key a grid item's row will have (bench runs no variants, channels_last or compile)."""
    return row_key({"kind": item.kind, "id": item.entry_id, "name": item.name, "variant": None, "input": item.input,
                    "dtype": item.dtype, "mode": item.mode, "device_name": device_name, "channels_last": False,
                    "compile": False})


# ---- running ---------------------------------------------------------------------------------
def run_item(item: Item, device: str, *, budget_s: float, threads: int | None) -> dict:
    """Measure one grid item; never raises for a failing entry (the row records it)."""
    from .measure import Config, base_row, measure_many, Subject

    config = Config(device=device, dtype=item.dtype, mode=item.mode, threads=threads).resolved()
    if item.kind == "compat":
        return compat_row(item, config)
    try:
        if item.kind == "baseline":  # timed interleaved with the entry, so the ratio is like for like
            ours, row = measure_many([item.entry_id, item.name], parse_shape(item.input), config,
                                     budget_s=budget_s, with_roofline=True)
            if ours.get("latency_ms") and row.get("latency_ms"):
                row.update(entry_latency_ms=ours["latency_ms"], entry_latency_min_ms=ours["latency_min_ms"],
                           ratio_entry_to_baseline=ours["latency_ms"] / row["latency_ms"],
                           ratio_entry_to_baseline_min=ours["latency_min_ms"] / row["latency_min_ms"])
        else:
            row = measure_many([item.name], parse_shape(item.input), config, budget_s=budget_s,
                               with_roofline=True)[0]
    except EncycloError as exc:
        row = base_row(Subject.of(item.name, parse_shape(item.input)), config)
        row.update(status="error", error=str(exc))
    row["kind"] = item.kind
    return row


@contextlib.contextmanager
def _quiet_compiler_logs() -> Iterator[None]:
    """Silence torch.compile/export's warnings and warning logs (pages of graph-break reports on numpy
    augmentations) while a compatibility cell is tried: the cell records the outcome, errors still raise."""
    loggers = [logging.getLogger(name) for name in ("torch._dynamo", "torch._inductor", "torch.export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def compat_row(item: Item, config) -> dict:
    """Whether the entry runs eager on CPU/CUDA, in bfloat16, channels_last, compiled and exported."""
    import torch

    from .measure import Config, Subject, base_row, prepare

    subject = Subject.of(item.entry_id, parse_shape(item.input))
    row = base_row(subject, config)
    row.update(kind="compat", mode="infer")
    checks: dict[str, str] = {}

    def attempt(name: str, cfg: Config | None, extra=None) -> None:
        try:
            with _quiet_compiler_logs():
                if cfg is not None:
                    prepare(subject, cfg)
                if extra is not None:
                    extra()
            checks[name] = "ok"
        except EncycloError as exc:
            checks[name] = f"n/a: {exc}"
        except Exception as exc:  # the matrix records failures, it does not stop on them
            checks[name] = f"fail: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"

    is_image = subject.entry.io == "image_augment"
    base_dtype = "uint8" if is_image else "float32"
    attempt("eager_cpu", Config(device="cpu", dtype=base_dtype, threads=config.threads))
    if torch.cuda.is_available() and not is_image:
        attempt("eager_cuda", Config(device="cuda", dtype=base_dtype))
    else:
        checks["eager_cuda"] = "n/a: " + ("numpy/opencv on CPU" if is_image else "no CUDA device here")
    device = "cuda" if torch.cuda.is_available() and not is_image else "cpu"
    if is_image:
        checks["bfloat16"] = checks["channels_last"] = "n/a: uint8 numpy image"
    else:
        attempt("bfloat16", Config(device=device, dtype="bfloat16", threads=config.threads))
        if len(subject.binding.shape) == 4 and subject.entry.io != "batch_augment":
            attempt("channels_last", Config(device=device, channels_last=True, threads=config.threads))
        else:
            checks["channels_last"] = "n/a: not a 4-D module input"
    attempt("compile", Config(device=device, dtype=base_dtype, compile=True, threads=config.threads))
    if subject.entry.is_module:
        def export() -> None:
            from .contracts import make_inputs

            model = subject.build().eval()
            torch.export.export(model, make_inputs(subject.binding))

        attempt("export", None, export)
    else:
        checks["export"] = "n/a: not an nn.Module"
    row.update({f"compat_{k}": checks[k] for k in COMPAT_CHECKS})
    row["status"] = "ok"
    return row


def run(entries: list[Entry], *, device: str, out: Path, budget_s: float = 1.0, threads: int | None = None,
        modes: list[str] | None = None, dtypes: list[str] | None = None, inputs: list[str] | None = None,
        compat: bool = True, measure: bool = True, first_input: bool = False, log=print) -> Path:
    """Run (this rank's shard of) the grid into ``out``; returns the file written."""
    from .measure import Config, device_name

    rank, world = rank_and_world()
    if world > 1 and device.startswith("cuda") and ":" not in device:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    Config(device=device, threads=threads).resolved()  # bad device/threads: one-line error before any work
    name = device_name(device)
    items = shard(grid(entries, modes=modes, dtypes=dtypes, inputs=inputs, compat=compat, measure=measure,
                       first_input=first_input), rank, world)
    target = out if world == 1 else out.with_name(f"{out.stem}.rank{rank}{out.suffix}")
    rows = read_rows(target)
    reg = registry()
    done = {row_key(r) for r in current_rows(rows)}  # stale rows are measured again
    stamp = environment_stamp(device)
    todo = [i for i in items if _item_key(i, name) not in done]
    log(f"bench: {len(items)} configs on {name}" + (f" (rank {rank}/{world})" if world > 1 else "") +
        f"; {len(items) - len(todo)} already measured, {len(todo)} to run -> {target}")
    for n, item in enumerate(todo, 1):
        t0 = time.perf_counter()
        row = run_item(item, device, budget_s=budget_s, threads=threads)
        row.update(stamp, code_hash=reg.entry(item.entry_id).code_hash, load_avg_1m=_load_average(),
                   timestamp=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        rows = [r for r in rows if row_key(r) != row_key(row)] + [row]
        write_rows(target, rows)
        what = f"{item.name} {item.input} {item.dtype} {item.mode}" if item.kind != "compat" \
            else f"{item.entry_id} compatibility"
        figure = f"{row['latency_ms']:.3f} ms" if row.get("latency_ms") is not None else row["status"]
        log(f"  [{n}/{len(todo)}] {what}: {figure} ({time.perf_counter() - t0:.1f} s)")
    if world > 1:
        _gather(out, rank, world, log)
    return out if rank == 0 else target


def _load_average() -> float | None:
    """The 1-minute load when the row was measured: a busy shared machine explains a noisy row."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _gather(out: Path, rank: int, world: int, log) -> None:
    """Wait for every rank, then rank 0 merges the shard files into ``out``."""
    shards = [out.with_name(f"{out.stem}.rank{r}{out.suffix}") for r in range(world)]
    done_marker = out.with_name(f".{out.stem}.rank{rank}.done")
    if os.environ.get("MASTER_ADDR") and os.environ.get("MASTER_PORT"):
        import torch.distributed as dist

        initialised = dist.is_initialized()
        if not initialised:
            dist.init_process_group("gloo")
        dist.barrier()
        if rank == 0:
            write_rows(out, merge_rows([read_rows(out)] + [read_rows(s) for s in shards]))
            log(f"bench: rank 0 merged {world} shards into {out}")
        dist.barrier()
        if not initialised:
            dist.destroy_process_group()
        return
    done_marker.write_text("done\n")  # no process group (SLURM/MPI without torchrun): files as barrier
    if rank == 0:
        markers = [out.with_name(f".{out.stem}.rank{r}.done") for r in range(world)]
        deadline = time.monotonic() + 24 * 3600
        while not all(m.exists() for m in markers):
            if time.monotonic() > deadline:
                raise EncycloError("bench: timed out waiting for the other ranks' shard files")
            time.sleep(1.0)
        write_rows(out, merge_rows([read_rows(out)] + [read_rows(s) for s in shards]))
        for m in markers:
            m.unlink(missing_ok=True)
        log(f"bench: rank 0 merged {world} shards into {out}")


def default_out(device: str) -> Path:
    kind = "cpu" if device == "cpu" else "cuda"
    if kind == "cuda":
        from .measure import device_name

        slug = "".join(ch if ch.isalnum() else "-" for ch in device_name(device).lower()).strip("-")
        kind = f"cuda-{slug}"
    return default_results_dir() / f"{kind}.jsonl"


def results_files(folder: Path | None = None) -> list[Path]:
    folder = folder or default_results_dir()
    return sorted(p for p in folder.glob("*.jsonl") if ".rank" not in p.name) if folder.is_dir() else []


def load_results(folder: Path | None = None) -> list[dict]:
    """All committed result rows (every device), merged."""
    return merge_rows(read_rows(p) for p in results_files(folder))


def status_lines(path: Path) -> list[str]:
    rows = read_rows(path)
    stale = stale_rows(rows)
    failed = [r for r in rows if r.get("status") != "ok"]
    lines = [f"{path}: {len(rows)} rows, {len(stale)} stale, {len(failed)} oom/error"]
    lines += [f"  stale: {r['id']} {r.get('input')} {r.get('dtype')} {r.get('mode')} (code {r.get('code_hash')} "
              f"!= {_current_hash(r['id'])})" for r in stale[:50]]
    lines += [f"  {r['status']}: {r['id']} {r.get('input')} {r.get('dtype')} {r.get('mode')}: "
              f"{(r.get('error') or '')[:100]}" for r in failed[:50]]
    return lines


def _current_hash(entry_id: str) -> str:
    try:
        return registry().entry(entry_id).code_hash
    except (KeyError, EncycloError):
        return "entry removed"
