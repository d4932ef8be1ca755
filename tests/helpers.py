"""Helpers for the tests: throwaway entry folders and CLI subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from encyclo.scaffold import scaffold

REPO = Path(__file__).resolve().parent.parent


def fill_todos(folder: Path) -> None:
    """Replace a scaffold's TODO placeholders with plausible text, as an author would."""
    for path in folder.iterdir():
        text = path.read_text()
        text = text.replace("authors: [TODO]", "authors: [Ada Lovelace]")
        text = re.sub(r"TODO_property", "kernel_taps", text)
        text = re.sub(r"https://github.com/TODO", "https://github.com/example/code", text)
        text = text.replace("TODO", "filled")
        path.write_text(text)


def make_entry(root: Path, spec: str) -> Path:
    """A valid, complete entry folder under ``root`` (scaffolded, TODOs filled)."""
    folder = scaffold(spec, root)
    fill_todos(folder)
    return folder


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300):
    """Run ``python -m encyclo ARGS`` in a subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "encyclo", *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd or REPO, timeout=timeout)
