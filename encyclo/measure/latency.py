"""Latency of a callable: warm-up, many timed samples, robust statistics (design.md §5).

CUDA: CUDA events around each sample, after warm-up, optionally with a cold L2 (a buffer twice the
L2 size is rewritten before each sample). CPU: ``time.perf_counter`` around each sample with an
explicit thread count. Calls shorter than ~200 us are repeated inside a sample so that timer overhead
stays negligible, as ``torch.utils.benchmark`` does. The first call (lazy init, cudnn autotune,
``torch.compile``) is reported apart from the steady state. A result is flagged noisy when
IQR / median > 10 %.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

NOISE_THRESHOLD = 0.10
_MIN_SAMPLE_S = 2e-4


@dataclass
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float
    iqr_ms: float
    min_ms: float
    n: int  # timed samples
    inner: int  # calls per sample
    first_call_ms: float
    noisy: bool

    def as_row(self) -> dict[str, Any]:
        d = asdict(self)
        return {"latency_ms": d["median_ms"], "latency_p10_ms": d["p10_ms"], "latency_p90_ms": d["p90_ms"],
                "latency_iqr_ms": d["iqr_ms"], "latency_min_ms": d["min_ms"], "latency_n": d["n"],
                "latency_inner": d["inner"], "first_call_ms": d["first_call_ms"], "noisy": d["noisy"]}


def free_cores() -> int:
    """Cores this process may use that are not busy (affinity minus the 1-minute load)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, cores - busy)


def _quantile(sorted_values: list[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples_s: list[float], *, inner: int, first_call_s: float) -> Timing:
    values = sorted(s * 1e3 for s in samples_s)
    median = statistics.median(values)
    iqr = _quantile(values, 0.75) - _quantile(values, 0.25)
    return Timing(median_ms=median, p10_ms=_quantile(values, 0.10), p90_ms=_quantile(values, 0.90), iqr_ms=iqr,
                  min_ms=values[0], n=len(values), inner=inner, first_call_ms=first_call_s * 1e3,
                  noisy=median > 0 and iqr / median > NOISE_THRESHOLD)


def time_callable(fn: Callable[[], Any], *, device: str = "cpu", warmup_s: float = 0.2, budget_s: float = 1.0,
                  min_samples: int = 10, max_samples: int = 200, cold_l2: bool = False) -> Timing:
    """Time ``fn`` (one forward, or forward+backward) on ``device`` within about ``budget_s`` seconds."""
    return time_callables([fn], device=device, warmup_s=warmup_s, budget_s=budget_s, min_samples=min_samples,
                          max_samples=max_samples, cold_l2=cold_l2)[0]


def time_callables(fns: list[Callable[[], Any]], *, device: str = "cpu", warmup_s: float = 0.2,
                   budget_s: float = 1.0, min_samples: int = 10, max_samples: int = 200,
                   cold_l2: bool = False) -> list[Timing]:
    """Time several callables *interleaved*: sample i of every callable is taken before sample i + 1 of
    any, so that machine noise (another process, frequency changes) hits all of them alike."""
    cuda = device.startswith("cuda")
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)

    first_calls, inners, per_sample = [], [], []
    for fn in fns:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        first_calls.append(time.perf_counter() - start)
        calls, start = 0, time.perf_counter()
        while True:  # warm-up per shape, which also estimates the per-call time
            fn()
            calls += 1
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= warmup_s or calls >= 1000:
                break
        per_call = elapsed / calls
        inner = max(1, math.ceil(_MIN_SAMPLE_S / per_call)) if per_call > 0 else 1
        inners.append(inner)
        per_sample.append(per_call * inner)
    round_s = sum(per_sample)
    # Slow calls (whole networks training on CPU) would spend minutes on min_samples: there 3 samples
    # suffice to report a median and a spread; n is in every row, so nobody mistakes it for more.
    floor = min_samples if round_s * min_samples <= 5 * budget_s * len(fns) else min(3, min_samples)
    n = int(min(max_samples, max(floor, budget_s * len(fns) / max(round_s, 1e-9))))

    flush = None
    if cuda and cold_l2:
        l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 50 << 20)
        flush = torch.empty(2 * l2 // 4, dtype=torch.float32, device=device)

    samples: list[list[float]] = [[] for _ in fns]
    events = []
    for _ in range(n):
        for k, fn in enumerate(fns):
            if flush is not None:
                flush.zero_()
            if cuda:
                start_event = torch.cuda.Event(enable_timing=True)
                end_event = torch.cuda.Event(enable_timing=True)
                start_event.record()
                for _ in range(inners[k]):
                    fn()
                end_event.record()
                events.append((k, start_event, end_event))
            else:
                t0 = time.perf_counter()
                for _ in range(inners[k]):
                    fn()
                samples[k].append((time.perf_counter() - t0) / inners[k])
    if cuda:
        torch.cuda.synchronize(device)
        for k, start_event, end_event in events:
            samples[k].append(start_event.elapsed_time(end_event) / 1e3 / inners[k])
    return [summarize(samples[k], inner=inners[k], first_call_s=first_calls[k]) for k in range(len(fns))]
