"""Roofline placement: a bytes lower bound and the FLOPs against the device's peaks (design.md §5).

bytes = inputs + outputs + parameters (each touched at least once), so achieved GB/s is a lower bound
of real traffic. A result is memory-bound when its arithmetic intensity (FLOPs / byte) is below the
device's ridge point (peak FLOP/s / peak B/s). ``pct_of_roofline`` is achieved FLOP/s over what the
roofline allows at that intensity.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Peaks:
    flops: dict[str, float]  # dtype -> FLOP/s
    bytes_per_s: float
    source: str


# Datasheet dense peaks (no sparsity); measured figures where we have them, named as such.
DEVICE_PEAKS: dict[str, Peaks] = {
    "NVIDIA H200": Peaks({"bfloat16": 790e12, "float16": 790e12, "float32": 67e12}, 4.8e12,
                         "bf16/fp16: ~790 TFLOP/s measured on this workplace's H200; fp32 and 4.8 TB/s: datasheet"),
    "NVIDIA H100 80GB HBM3": Peaks({"bfloat16": 989e12, "float16": 989e12, "float32": 67e12}, 3.35e12,
                                   "datasheet (SXM)"),
    "NVIDIA A100-SXM4-80GB": Peaks({"bfloat16": 312e12, "float16": 312e12, "float32": 19.5e12}, 2.039e12,
                                   "datasheet"),
    "NVIDIA A100-SXM4-40GB": Peaks({"bfloat16": 312e12, "float16": 312e12, "float32": 19.5e12}, 1.555e12,
                                   "datasheet"),
    "NVIDIA GeForce RTX 4090": Peaks({"bfloat16": 165e12, "float16": 165e12, "float32": 82.6e12}, 1.008e12,
                                     "datasheet"),
}


@functools.lru_cache(maxsize=None)
def measured_cpu_peaks(threads: int) -> Peaks:
    """CPU peaks measured once per process: a float32 GEMM and a large copy (about 0.5 s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        best_gemm = _best_time(lambda: torch.mm(a, b), 5)
        src = torch.empty(64 << 20, dtype=torch.uint8)
        dst = torch.empty_like(src)
        best_copy = _best_time(lambda: dst.copy_(src), 5)
    finally:
        torch.set_num_threads(previous)
    gemm = 2 * 1024**3 / best_gemm
    return Peaks({"float32": gemm, "bfloat16": gemm, "float16": gemm, "uint8": gemm},
                 2 * src.numel() / best_copy, f"measured in-process ({threads} threads: fp32 GEMM, memcpy)")


def _best_time(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peaks_for(device: str, device_name: str, threads: int) -> Peaks | None:
    if device.startswith("cuda"):
        return DEVICE_PEAKS.get(device_name)
    return measured_cpu_peaks(threads)


def roofline(flops: float, bytes_moved: float, latency_s: float, dtype: str, peaks: Peaks | None) -> dict:
    """Achieved GB/s and FLOP/s, arithmetic intensity, bound type and % of the attainable roofline."""
    row = {"bytes_lower_bound": int(bytes_moved), "achieved_gbps": bytes_moved / latency_s / 1e9,
           "achieved_gflops": flops / latency_s / 1e9,
           "arithmetic_intensity": flops / bytes_moved if bytes_moved else None}
    if peaks is None or dtype not in peaks.flops:
        row.update(bound=None, pct_of_roofline=None, peaks_source=None)
        return row
    peak_flops = peaks.flops[dtype]
    intensity = flops / bytes_moved if bytes_moved else float("inf")
    attainable = min(peak_flops, intensity * peaks.bytes_per_s)
    row.update(bound="memory" if intensity * peaks.bytes_per_s < peak_flops else "compute",
               pct_of_roofline=100.0 * (flops / latency_s) / attainable if attainable else None,
               peaks_source=peaks.source)
    return row
