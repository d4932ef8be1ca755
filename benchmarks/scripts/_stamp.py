"""Shared by the target scripts: an environment stamp and an atomic JSON write."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results" / "targets"


def stamp() -> dict:
    import torch

    from encyclo.bench import git_commit
    from encyclo.measure import device_name

    return {"torch_version": torch.__version__, "python_version": platform.python_version(),
            "device_name": device_name("cpu"), "git_commit": git_commit(), "load_avg_1m": os.getloadavg()[0],
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def write(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump({**result, **stamp()}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(json.dumps(result, indent=2), file=sys.stdout)
    return path
