"""Target: on CPU, encyclo's latency of a fixed module agrees with torch.utils.benchmark within 10 %.

Both time the same 3x3 convolution (64 -> 64 channels at 1x64x56x56, float32, inference mode) with the
same thread count, alternately, several rounds; the ratio of medians is reported per round and overall.
Usage: python benchmarks/scripts/harness_fidelity.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.utils.benchmark as tb

from _stamp import write
from encyclo.measure.latency import time_callable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    x = torch.randn(1, 64, 56, 56)

    def step():
        with torch.inference_mode():
            return conv(x)

    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(time_callable(step, budget_s=1.0).median_ms)
        timer = tb.Timer(stmt="step()", globals={"step": step}, num_threads=args.threads)
        theirs.append(timer.blocked_autorange(min_run_time=1.0).median * 1e3)
    ratios = [o / t for o, t in zip(ours, theirs)]
    overall = statistics.median(ours) / statistics.median(theirs)
    write("harness_fidelity", {"target": "|encyclo / torch.utils.benchmark - 1| <= 10 %",
                               "module": "Conv2d(64, 64, 3, padding=1) at 1x64x56x56 float32 infer",
                               "threads": args.threads, "encyclo_median_ms": [round(v, 4) for v in ours],
                               "torch_benchmark_median_ms": [round(v, 4) for v in theirs],
                               "ratio_per_round": [round(r, 3) for r in ratios], "ratio": round(overall, 3),
                               "meets_target": abs(overall - 1) <= 0.10})


if __name__ == "__main__":
    main()
