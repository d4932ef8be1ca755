"""Target: `encyclo compare seblock cbam --input 1x64x56x56` finishes in under 10 s (wall, whole process).

Usage: python benchmarks/scripts/compare_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _stamp import write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "encyclo", "compare", "seblock", "cbam", "--input", "1x64x56x56"]
    walls, table = [], ""
    for _ in range(args.runs):
        start = time.perf_counter()
        table = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        walls.append(time.perf_counter() - start)
    write("compare_speed", {"target": "encyclo compare seblock cbam --input 1x64x56x56 < 10 s",
                            "wall_s": [round(w, 2) for w in walls], "median_wall_s": round(statistics.median(walls), 2),
                            "meets_target": statistics.median(walls) < 10, "table": table.splitlines()})


if __name__ == "__main__":
    main()
