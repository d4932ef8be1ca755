"""The bench store: rows stamped, atomic, resumable, errors recorded, merge, stale, shards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from encyclo import bench
from encyclo.registry import registry

from helpers import REPO, make_entry, run_cli

FAST = ["--budget", "0.02", "--threads", "1", "--inputs", "1x16x8x8", "--dtypes", "float32"]


def test_rows_are_stamped(tmp_path):
    out = tmp_path / "r.jsonl"
    proc = run_cli("bench", "seblock", "--out", str(out), "--no-compat", *FAST)
    assert proc.returncode == 0, proc.stderr
    rows = bench.read_rows(out)
    assert {r["mode"] for r in rows} == {"infer", "train"}
    for row in rows:
        for key in ("torch_version", "device_name", "code_hash", "git_commit", "timestamp", "latency_ms", "macs"):
            assert key in row
        assert row["code_hash"] == registry().entry("seblock").code_hash and row["status"] == "ok"


def test_resume_skips_measured_rows_and_loses_nothing(tmp_path):
    out = tmp_path / "r.jsonl"
    run_cli("bench", "seblock", "--out", str(out), "--no-compat", "--modes", "infer", *FAST)
    first = bench.read_rows(out)
    assert len(first) == 1
    proc = run_cli("bench", "seblock", "--out", str(out), "--no-compat", *FAST)
    assert "1 already measured, 1 to run" in proc.stdout
    rows = bench.read_rows(out)
    assert len(rows) == 2 and first[0] in rows  # the first row kept as it was


def test_killed_run_resumes(tmp_path):
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "encyclo", "bench", "seblock", "eca", "cbam", "--out", str(out), "--no-compat",
           "--budget", "0.3", "--threads", "1", "--inputs", "1x16x8x8"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # kill it right after its second row is written
        if "[2/" in line:
            proc.kill()
            break
    proc.wait()
    partial = bench.read_rows(out)  # the file is whole: atomic writes
    assert 2 <= len(partial) < 12
    assert not list(tmp_path.glob(".*.tmp"))
    done = run_cli(*cmd[3:])
    assert f"{len(partial)} already measured" in done.stdout
    assert len(bench.read_rows(out)) == 12  # 3 entries x 2 dtypes x 2 modes


def test_errors_and_oom_are_rows_and_the_run_goes_on(tmp_path):
    pack = tmp_path / "pack"
    folder = make_entry(pack, "attention/oom_block")
    (folder / "oom_block.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass OomBlock(nn.Module):\n"
        "    def __init__(self, channels: int):\n        super().__init__()\n\n"
        "    def forward(self, x):\n        raise RuntimeError('CUDA out of memory. Tried to allocate 80 GiB')\n")
    out = tmp_path / "r.jsonl"
    proc = run_cli("bench", "oom_block", "seblock", "--out", str(out), "--no-compat", *FAST,
                   env={"ENCYCLO_PATH": str(pack)})
    assert proc.returncode == 0, proc.stderr
    rows = bench.read_rows(out)
    statuses = {(r["id"], r["mode"]): r["status"] for r in rows}
    assert statuses[("oom_block", "infer")] == "oom" and statuses[("seblock", "infer")] == "ok"
    assert "oom/error" in proc.stdout


def test_merge_and_stale(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    base = {"kind": "measure", "id": "seblock", "variant": None, "input": "1x8x8x8", "dtype": "float32",
            "mode": "infer", "device_name": "X", "channels_last": False, "compile": False, "status": "ok",
            "code_hash": registry().entry("seblock").code_hash}
    bench.write_rows(a, [{**base, "timestamp": "2026-01-01", "latency_ms": 2.0}])
    bench.write_rows(b, [{**base, "timestamp": "2026-02-01", "latency_ms": 1.0},
                         {**base, "device_name": "Y", "timestamp": "2026-01-01", "latency_ms": 3.0},
                         {**base, "code_hash": "000000000000", "timestamp": "2025-01-01", "latency_ms": 9.0}])
    proc = run_cli("bench", "merge", str(a), str(b), "--out", str(tmp_path / "m.jsonl"))
    assert proc.returncode == 0, proc.stderr
    merged = bench.read_rows(tmp_path / "m.jsonl")
    assert len(merged) == 3
    current = [r for r in bench.current_rows(merged) if r["device_name"] == "X"]
    assert [r["latency_ms"] for r in current] == [1.0]  # newest wins
    assert [r["latency_ms"] for r in bench.stale_rows(merged)] == [9.0]
    assert "1 stale" in proc.stdout


def test_bad_results_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n')
    proc = run_cli("bench", "merge", str(bad), "--out", str(tmp_path / "m.jsonl"))
    assert proc.returncode == 2 and "bad.jsonl:2: not a JSON results row" in proc.stderr


def test_grid_and_shards_are_deterministic_and_disjoint():
    entries = registry().entries()
    items = bench.grid(entries)
    assert items == bench.grid(list(reversed(entries)))
    shards = [bench.shard(items, r, 3) for r in range(3)]
    assert sorted(map(repr, sum(shards, []))) == sorted(map(repr, items))
    assert not set(map(repr, shards[0])) & set(map(repr, shards[1]))
    quick = bench.grid(entries, first_input=True, compat=False)
    assert {(i.entry_id, i.input) for i in quick} == {(e.id, e.bench.inputs[0]) for e in entries}


@pytest.mark.parametrize("env,expected", [({"RANK": "1", "WORLD_SIZE": "4"}, (1, 4)),
                                          ({"SLURM_PROCID": "2", "SLURM_NTASKS": "3"}, (2, 3)),
                                          ({"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2"}, (0, 2)),
                                          ({}, (0, 1))])
def test_rank_detection(monkeypatch, env, expected):
    for var in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                "PMI_RANK", "PMI_SIZE"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert bench.rank_and_world() == expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sharded_sweep_under_torchrun(tmp_path):
    out = tmp_path / "sweep.jsonl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "encyclo", "bench", "seblock", "eca", "--out", str(out),
           "--no-compat", "--modes", "infer", *FAST]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    shard_rows = [bench.read_rows(tmp_path / f"sweep.rank{r}.jsonl") for r in range(2)]
    assert all(len(rows) == 1 for rows in shard_rows)
    merged = bench.read_rows(out)
    assert sorted(r["id"] for r in merged) == ["eca", "seblock"]
    assert "rank 0 merged 2 shards" in proc.stdout


@pytest.mark.slow
def test_compatibility_matrix_row(tmp_path):
    out = tmp_path / "r.jsonl"
    proc = run_cli("bench", "seblock", "--out", str(out), "--modes", "infer", *FAST)
    assert proc.returncode == 0, proc.stderr
    [compat] = [r for r in bench.read_rows(out) if r.get("kind") == "compat"]
    assert compat["compat_eager_cpu"] == "ok" and compat["compat_bfloat16"] == "ok"
    assert compat["compat_channels_last"] == "ok" and compat["compat_export"] == "ok"
    assert compat["compat_compile"] == "ok"
    assert compat["compat_eager_cuda"].startswith("n/a") or compat["compat_eager_cuda"] == "ok"


def test_committed_results_parse_and_are_stamped():
    files = bench.results_files(REPO / "benchmarks" / "results")
    if not files:
        pytest.skip("no committed results yet")
    for path in files:
        for row in bench.read_rows(path):
            assert row["torch_version"] and row["device_name"] and row["code_hash"] and row["timestamp"]


def test_builtin_rows_sit_beside_the_entry(tmp_path):
    out = tmp_path / "r.jsonl"
    proc = run_cli("bench", "layernorm", "--out", str(out), "--no-compat", "--modes", "infer", "--budget", "0.02",
                   "--threads", "1", "--inputs", "2x16x32", "--dtypes", "float32")
    assert proc.returncode == 0, proc.stderr
    rows = bench.read_rows(out)
    assert sorted((r["kind"], r["name"]) for r in rows) == [("baseline", "layernorm@torch"), ("measure", "layernorm")]
    [base] = [r for r in rows if r["kind"] == "baseline"]
    assert base["ratio_entry_to_baseline"] == pytest.approx(base["entry_latency_ms"] / base["latency_ms"])


def test_prune_drops_only_stale_rows(tmp_path):
    path = tmp_path / "r.jsonl"
    base = {"kind": "measure", "id": "seblock", "name": "seblock", "variant": None, "input": "1x8x8x8",
            "dtype": "float32", "mode": "infer", "device_name": "X", "channels_last": False, "compile": False}
    bench.write_rows(path, [{**base, "code_hash": registry().entry("seblock").code_hash},
                            {**base, "mode": "train", "code_hash": "000000000000"}])
    proc = run_cli("bench", "prune", str(path))
    assert proc.returncode == 0 and "removed 1 stale rows, kept 1" in proc.stdout
    assert [r["mode"] for r in bench.read_rows(path)] == ["infer"]
