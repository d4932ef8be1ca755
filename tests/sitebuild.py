"""One ``mkdocs build --strict`` per test session, shared by test_site and test_browser across xdist workers.

pytest-xdist's ``xdist_group`` no longer keeps tests on one worker under pytest 9 (the group suffix is not
applied), and two concurrent builds in one checkout raced on mkdocs-jupyter's cache files (a CI run read a
half-written one). So the build is done once, under a file lock in the session's shared temp folder; every
worker reads the same outcome.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
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


def shared_build(tmp_path_factory: pytest.TempPathFactory) -> SiteBuild:
    """The session's single site build: the first worker to get here builds, the others wait and reuse it."""
    pytest.importorskip("mkdocs_gen_files", reason="the site extras are not installed (pip install -e .[site])")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-N/, common to all workers
    folder = shared / "shared-site-build"
    folder.mkdir(exist_ok=True)
    outcome = folder / "outcome.json"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():
            done = build_site(folder / "site", synthetic_results(folder / "results"), folder / "notebook-html")
            outcome.write_text(json.dumps({"returncode": done.returncode,
                                           "log": done.stdout[-3000:] + done.stderr[-6000:]}))
    recorded = json.loads(outcome.read_text())
    return SiteBuild(folder / "site", recorded["returncode"], recorded["log"])
