"""One ``mkdocs build --strict`` per test session, shared by test_site and test_browser across xdist workers.

pytest-xdist's ``xdist_group`` no longer keeps tests on one worker under pytest 9 (the group suffix is not
applied), and two concurrent builds in one checkout raced on mkdocs-jupyter's cache files (a CI run read a
half-written one). So the build runs once, in a background process started (under a file lock in the
session's shared temp folder) as soon as a worker sees site tests among its items; every worker reads the
same outcome file, written atomically.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import REPO


def result_row(entry, **kw) -> dict:
    """A results row as `encyclo bench` writes it (CPU, float32, inference, current code)."""
    base = {"id": entry.id, "name": entry.id, "variant": None, "category": entry.category, "io": entry.io,
            "input": "1x64x56x56", "device": "cpu", "device_name": "Test CPU (2 cores)", "dtype": "float32",
            "mode": "infer", "channels_last": False, "compile": False, "threads": 2, "status": "ok",
            "params": 580, "macs": 512, "latency_ms": 0.05, "latency_p10_ms": 0.045, "latency_p90_ms": 0.06,
            "noisy": False, "peak_memory_bytes": 802816, "throughput_per_s": 20000.0, "bound": "memory",
            "pct_of_roofline": 60.0, "code_hash": entry.code_hash, "torch_version": "2.13.0",
            "timestamp": "2026-01-02T03:04:05+00:00"}
    return {**base, **kw}


def synthetic_results(folder: Path) -> Path:
    """Rows for seblock on a CPU and a GPU (one of them stale) plus a compat row; nothing is measured."""
    from encyclo import entry

    se = entry("seblock")
    rows = [result_row(se), result_row(se, mode="train", latency_ms=0.2),
            result_row(se, device="cuda", device_name="Test GPU", threads=None, latency_ms=0.01,
                       code_hash="0ld0ld0ld0ld"),
            result_row(se, kind="compat", compat_eager_cpu="ok", compat_eager_cuda="n/a: no CUDA device here",
                       compat_bfloat16="ok", compat_channels_last="ok", compat_compile="ok", compat_export="ok")]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def build_site(out: Path, results: Path, notebook_html_cache: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` into ``out`` from the repository, reading results from ``results``.

    mkdocs-jupyter's own HTML cache goes to ``notebook_html_cache`` so a test build never shares it with a
    ``make site``/``make serve`` running in the same checkout."""
    env = {**os.environ, "ENCYCLO_RESULTS_DIR": str(results), "ENCYCLO_NOTEBOOK_HTML_CACHE": str(notebook_html_cache),
           "DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=1200)


@dataclass(frozen=True)
class SiteBuild:
    site: Path
    returncode: int
    log: str  # the end of stdout and stderr, for an assertion message


CHROMIUM = Path("/usr/bin/chromium")


def needs_site(item: pytest.Item) -> bool:
    """Whether the test reads the session's site build (conftest runs these last, after the build)."""
    file = item.nodeid.split("::")[0].rsplit("/", 1)[-1]
    return file == "test_browser.py" or (file == "test_site.py" and item.name == "test_mkdocs_build_strict")


def wanted(items: list[pytest.Item]) -> bool:
    """Whether this session runs a test that needs the built site (and could run it here)."""
    if importlib.util.find_spec("mkdocs_gen_files") is None:
        return False
    return any(needs_site(item) and (CHROMIUM.exists() or "test_browser.py" not in item.nodeid) for item in items)


def _folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-N/, common to all workers
    folder = shared / "shared-site-build"
    folder.mkdir(exist_ok=True)
    return folder


def start_build(tmp_path_factory: pytest.TempPathFactory) -> subprocess.Popen | None:
    """Start the session's build in the background (once, whichever worker asks first).

    A separate process, so no worker sits idle while the site builds: the tests go on, and the site tests
    wait for the outcome only when they need it. Returns the process to the caller that started it (which
    waits for it at the end of its session), None to the others."""
    folder = _folder(tmp_path_factory)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "started").exists():
            return None
        (folder / "started").touch()
        # In pytest's process group, so Ctrl-C stops the build too.
        return subprocess.Popen([sys.executable, __file__, str(folder)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def shared_build(tmp_path_factory: pytest.TempPathFactory, timeout_s: float = 1500) -> SiteBuild:
    """The session's single site build: started if nobody has yet, then waited for."""
    pytest.importorskip("mkdocs_gen_files", reason="the site extras are not installed (pip install -e .[site])")
    started_here = start_build(tmp_path_factory)  # normally conftest has started it already
    folder = _folder(tmp_path_factory)
    outcome, waited = folder / "outcome.json", 0.0
    while not outcome.exists():
        assert waited < timeout_s, f"the site build in {folder} gave no outcome in {timeout_s:.0f} s"
        time.sleep(0.5)
        waited += 0.5
    if started_here is not None:
        started_here.wait()
    recorded = json.loads(outcome.read_text())
    return SiteBuild(folder / "site", recorded["returncode"], recorded["log"])


def _build_into(folder: Path) -> None:
    """The background process: build, then write the outcome atomically (a reader never sees half of it)."""
    try:
        done = build_site(folder / "site", synthetic_results(folder / "results"), folder / "notebook-html")
        recorded = {"returncode": done.returncode, "log": done.stdout[-3000:] + done.stderr[-6000:]}
    except Exception as error:  # noqa: BLE001 - whatever broke is the test's failure message
        recorded = {"returncode": -1, "log": f"the site build could not run: {error!r}"}
    partial = folder / "outcome.json.partial"
    partial.write_text(json.dumps(recorded))
    os.replace(partial, folder / "outcome.json")


if __name__ == "__main__":
    _build_into(Path(sys.argv[1]))
