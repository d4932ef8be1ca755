"""The measuring engine: counting, memory, latency statistics, roofline, compare and summary."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import encyclo
from encyclo.compare import add_relative
from encyclo.measure import Config, measure_many
from encyclo.measure.counting import count_ops, count_params
from encyclo.measure.latency import summarize, time_callables
from encyclo.measure.memory import peak_memory
from encyclo.measure.roofline import Peaks, roofline

from helpers import run_cli


def test_resnet50_reference_counts():
    # design.md §5: a torchvision-style ResNet-50 at 224 is 25,557,032 params and 4.089 GMACs.
    counted = count_ops(lambda: encyclo.create("resnet50"), lambda d: (torch.randn(1, 3, 224, 224, device=d),))
    assert counted.params == 25_557_032
    assert round(counted.macs / 1e9, 3) == 4.089
    assert counted.device == "meta" and counted.uncounted == {}


class ViTAttention(nn.Module):
    """A ViT self-attention block through F.scaled_dot_product_attention."""

    def __init__(self, dim: int = 192, heads: int = 3):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, l, d = x.shape
        q, k, v = self.qkv(x).reshape(n, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(n, l, d))


def test_vit_attention_counts_the_same_on_cpu_and_meta():
    # torch 2.13's CPU SDPA kernel has no upstream formula; we register one so both devices agree.
    make = lambda d: (torch.randn(2, 197, 192, device=d),)
    meta = count_ops(ViTAttention, make, device="meta")
    cpu = count_ops(ViTAttention, make, device="cpu")
    n, l, d = 2, 197, 192
    expected = n * l * d * 3 * d + n * l * d * d + 2 * n * l * l * d  # qkv + proj + (QK^T and AV)
    assert meta.macs == cpu.macs == expected


def test_train_mode_counts_forward_and_backward():
    make = lambda d: (torch.randn(4, 64, device=d),)
    infer = count_ops(lambda: nn.Linear(64, 32), make)
    train = count_ops(lambda: nn.Linear(64, 32), make, train=True)
    assert infer.macs == 4 * 64 * 32
    assert train.macs == 3 * infer.macs  # forward, weight grad and input grad


def test_uncounted_ops_are_listed_not_dropped():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.linalg.qr(x)[0]

    counted = count_ops(Odd, lambda d: (torch.randn(4, 4, device=d),), device="cpu")
    assert any("qr" in op for op in counted.uncounted)


def test_count_params_counts_shared_weights_once():
    lin = nn.Linear(3, 3)
    assert count_params(nn.Sequential(lin, lin)) == (12, 12)
    frozen = nn.Linear(3, 3).requires_grad_(False)
    assert count_params(nn.Sequential(frozen, nn.Linear(3, 1))) == (16, 4)


def test_per_module_records_sum_to_the_total():
    counted = count_ops(lambda: encyclo.create("resnet18"), lambda d: (torch.randn(1, 3, 64, 64, device=d),))
    root = counted.modules[0]
    assert root.macs == counted.macs and root.params == counted.params
    stages = [r for r in counted.modules if r.name in ("conv1", "layer1", "layer2", "layer3", "layer4", "fc")]
    assert sum(r.macs for r in stages) == counted.macs


def test_cpu_peak_memory_sees_intermediates():
    big = 4 << 20  # 4 MiB intermediate, freed before the small output

    def fn():
        tmp = torch.ones(big // 4)
        return tmp.sum()

    assert big <= peak_memory(fn, "cpu") < 2 * big


def test_latency_statistics():
    t = summarize([0.001, 0.002, 0.003, 0.004, 0.005], inner=1, first_call_s=0.01)
    assert t.median_ms == pytest.approx(3.0) and t.min_ms == pytest.approx(1.0)
    assert t.p10_ms == pytest.approx(1.4) and t.p90_ms == pytest.approx(4.6)
    assert t.iqr_ms == pytest.approx(2.0) and t.noisy
    quiet = summarize([0.010, 0.0101, 0.0099, 0.010], inner=1, first_call_s=0.0)
    assert not quiet.noisy


def test_interleaved_timing_ranks_real_work():
    a = torch.randn(256, 256)
    small = lambda: a[:32, :32] @ a[:32, :32]
    large = lambda: a @ a
    fast, slow = time_callables([small, large], budget_s=0.2, warmup_s=0.05)
    assert fast.min_ms < slow.min_ms  # 512x fewer FLOPs; the minimum is robust to a busy machine
    assert fast.n == slow.n >= 10


def test_roofline_bounds():
    peaks = Peaks({"float32": 1e12}, 1e11, "test")
    memory = roofline(flops=1e6, bytes_moved=1e7, latency_s=1e-3, dtype="float32", peaks=peaks)
    assert memory["bound"] == "memory" and memory["achieved_gbps"] == pytest.approx(10.0)
    assert memory["pct_of_roofline"] == pytest.approx(10.0)
    compute = roofline(flops=1e10, bytes_moved=1e6, latency_s=1e-1, dtype="float32", peaks=peaks)
    assert compute["bound"] == "compute" and compute["pct_of_roofline"] == pytest.approx(10.0)


def test_measure_rows_have_stable_keys():
    rows = measure_many(["seblock", "cbam"], (1, 64, 16, 16), Config(threads=1), budget_s=0.1, warmup_s=0.02)
    keys = {"id", "params", "macs", "flops", "latency_ms", "latency_p10_ms", "latency_p90_ms", "latency_min_ms",
            "latency_n", "first_call_ms", "noisy", "peak_memory_bytes", "output_shape", "year", "device_name",
            "dtype", "mode", "threads", "status"}
    for row in rows:
        assert keys <= set(row) and row["status"] == "ok" and row["output_shape"] == "1x64x16x16"
    assert rows[0]["params"] == 580 and rows[0]["macs"] == 64 * 4 * 2 and rows[1]["params"] > 580


def test_relative_figures_against_the_first_entry():
    rows = add_relative([{"status": "ok", "params": 10, "macs": 4}, {"status": "ok", "params": 25, "macs": 2}])
    assert rows[0]["params_rel"] == 1.0 and rows[1]["params_rel"] == 2.5 and rows[1]["macs_rel"] == 0.5


@pytest.mark.parametrize("mode,dtype", [("train", "float32"), ("infer", "bfloat16")])
def test_modes_and_dtypes(mode, dtype):
    [row] = measure_many(["groupnorm"], (2, 64, 8, 8), Config(mode=mode, dtype=dtype, threads=1), budget_s=0.05,
                         warmup_s=0.01)
    assert row["status"] == "ok" and row["dtype"] == dtype and row["latency_ms"] > 0


def test_channels_last_and_augmentations():
    [row] = measure_many(["seblock"], (2, 32, 8, 8), Config(channels_last=True, threads=1), budget_s=0.05,
                         warmup_s=0.01)
    assert row["status"] == "ok" and row["channels_last"]
    rows = measure_many(["mixup", "cutmix"], (4, 3, 32, 32), Config(threads=1), budget_s=0.05, warmup_s=0.01)
    assert all(r["status"] == "ok" and r["params"] == 0 and r["throughput_per_s"] > 0 for r in rows)
    [cut] = measure_many(["cutout"], (32, 32, 3), Config(dtype="uint8", threads=1), budget_s=0.05, warmup_s=0.01)
    assert cut["status"] == "ok" and cut["output_shape"] == "32x32x3"


@pytest.mark.slow
def test_compile_option():
    [row] = measure_many(["seblock"], (1, 16, 8, 8), Config(compile=True, threads=1), budget_s=0.05, warmup_s=0.01)
    assert row["status"] == "ok" and row["compile"] and row["first_call_ms"] > row["latency_ms"]


def test_failing_entry_is_a_row_and_the_others_go_on(tmp_path):
    from helpers import make_entry

    folder = make_entry(tmp_path, "attention/explodes")
    (folder / "explodes.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Explodes(nn.Module):\n"
        "    def __init__(self, channels: int):\n        super().__init__()\n\n"
        "    def forward(self, x):\n        raise RuntimeError('kaboom')\n")
    proc = run_cli("compare", "seblock", "explodes", "--input", "1x8x8x8", "--format", "json", "--budget", "0.05",
                   env={"ENCYCLO_PATH": str(tmp_path)})
    rows = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert rows[0]["status"] == "ok" and rows[1]["status"] == "error" and "kaboom" in rows[1]["error"]


def test_compare_cli_table_markdown_json_csv():
    base = ["compare", "seblock", "cbam", "eca", "--input", "1x64x56x56", "--budget", "0.1", "--threads", "1"]
    table = run_cli(*base)
    assert table.returncode == 0, table.stderr
    for needle in ("seblock", "cbam", "eca", "(1.00x)", "1x64x56x56", "MACs counted on meta"):
        assert needle in table.stdout
    rows = json.loads(run_cli(*base, "--format", "json").stdout)
    assert [r["id"] for r in rows] == ["seblock", "cbam", "eca"]
    assert rows[0]["latency_ms_rel"] == 1.0
    assert run_cli(*base, "--format", "markdown").stdout.startswith("| entry |")
    assert run_cli(*base, "--format", "csv").stdout.splitlines()[0].startswith("id,")


def test_compare_variants_and_compositions():
    proc = run_cli("compare", "resnet18", "resnet18+seblock", "--input", "1x3x64x64", "--format", "json",
                   "--budget", "0.1")
    assert proc.returncode == 0, proc.stderr
    plain, se = json.loads(proc.stdout)
    assert se["params"] > plain["params"] and se["variant"] == "resnet18"


def test_compare_refuses_incompatible_io():
    proc = run_cli("compare", "seblock", "layernorm", "--input", "1x64x8x8")
    assert proc.returncode == 2 and "'layernorm' (io tokens) takes a rank-3 input NxLxD" in proc.stderr


def test_summary_totals_equal_compare():
    summary = json.loads(run_cli("summary", "resnet18", "--input", "1x3x64x64", "--format", "json").stdout)
    compare = json.loads(run_cli("compare", "resnet18", "--input", "1x3x64x64", "--format", "json",
                                 "--budget", "0.05").stdout)[0]
    assert summary["params"] == compare["params"] and summary["macs"] == compare["macs"]
    layers = {l["path"]: l for l in summary["layers"]}
    assert layers["layer1"]["output_shape"] == "1x64x16x16" and layers["fc"]["params"] == 513_000
    text = run_cli("summary", "resnet18", "--input", "1x3x64x64", "--depth", "1").stdout
    assert "layer4" in text and "layer4.0" not in text and "total params 11,689,512" in text


def test_summary_refuses_augmentations():
    proc = run_cli("summary", "mixup", "--input", "2x3x8x8")
    assert proc.returncode == 2 and "no layers to summarise" in proc.stderr


@pytest.mark.cuda
def test_cuda_path_measures():
    [row] = measure_many(["seblock"], (8, 64, 56, 56), Config(device="cuda"), budget_s=0.2)
    assert row["status"] == "ok" and row["peak_memory_bytes"] >= 8 * 64 * 56 * 56 * 4


def test_compare_save_writes_an_augmentation_grid(tmp_path):
    import cv2

    out = tmp_path / "grid.png"
    proc = run_cli("compare", "mixup", "cutmix", "--input", "4x3x64x64", "--save", str(out), "--budget", "0.05")
    assert proc.returncode == 0, proc.stderr
    grid = cv2.imread(str(out))
    assert grid.shape[1] == 4 * 64 and grid.shape[0] == 3 * (64 + 24)  # input, mixup, cutmix rows
    refused = run_cli("compare", "seblock", "--input", "1x8x8x8", "--save", str(tmp_path / "x.png"),
                      "--budget", "0.05")
    assert refused.returncode == 2 and "--save draws augmentations only" in refused.stderr


def test_baseline_subjects_time_torch_beside_the_entry():
    proc = run_cli("compare", "layernorm", "layernorm@torch", "--input", "2x16x32", "--format", "json",
                   "--budget", "0.05")
    assert proc.returncode == 0, proc.stderr
    ours, theirs = json.loads(proc.stdout)
    assert theirs["name"] == "layernorm@torch" and theirs["params"] == ours["params"] == 64
    refused = run_cli("compare", "seblock@torch", "--input", "1x8x8x8")
    assert refused.returncode == 2 and "names no 'torch' baseline" in refused.stderr


def test_cpu_peak_memory_sees_numpy_allocations():
    import numpy as np

    def fn():
        tmp = np.ones(1 << 20, dtype=np.uint8)  # 1 MiB, freed before returning
        return int(tmp[0])

    assert (1 << 20) <= peak_memory(fn, "cpu") < (1 << 20) + (64 << 10)
