"""Target: `encyclo list` answers in under 150 ms. Times it against `python -c pass` (interleaved runs).

Usage: python benchmarks/scripts/list_speed.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _stamp import write


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    baseline_cmd = [sys.executable, "-c", "pass"]
    list_cmd = [sys.executable, "-m", "encyclo", "list"]
    for cmd in (baseline_cmd, list_cmd):  # warm the OS caches
        run_once(cmd)
    baseline, listing = [], []
    for _ in range(args.runs):  # interleaved, so that machine noise hits both alike
        baseline.append(run_once(baseline_cmd))
        listing.append(run_once(list_cmd))
    from encyclo.registry import registry

    b, l = statistics.median(baseline) * 1e3, statistics.median(listing) * 1e3
    write("list_speed", {"target": "encyclo list < 150 ms", "entries": len(registry()), "runs": args.runs,
                         "python_c_pass_median_ms": round(b, 1), "encyclo_list_median_ms": round(l, 1),
                         "encyclo_list_min_ms": round(min(listing) * 1e3, 1), "ratio": round(l / b, 2),
                         "meets_target": l < 150})


if __name__ == "__main__":
    main()
