"""Checks of an entry folder beyond its schema, used by ``encyclo check`` and the generic tests.

The static checks read files as text/AST and never import torch or the entry's code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from .registry import BrokenEntryError, Entry, Registry, _display

# design.md §2: an implementation imports only the standard library, torch, numpy and cv2.
ALLOWED_THIRD_PARTY = frozenset({"torch", "numpy", "cv2"})


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a Python file imports (absolute imports; relative ones as '.')."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." if node.level else (node.module or "").split(".")[0])
    return found


def forbidden_imports(path: Path) -> list[str]:
    allowed = ALLOWED_THIRD_PARTY | set(sys.stdlib_module_names) | {"__future__"}
    return sorted(m for m in imported_modules(path) if m not in allowed)


def defined_functions(path: Path) -> set[str]:
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def static_problems(entry: Entry) -> list[str]:
    """Problems visible without importing anything: files, import rule, TODOs, claim measure functions."""
    problems = []
    where = _display(entry.folder)
    for path in (entry.impl_file, entry.readme_file, entry.example_file, entry.test_file):
        if not path.exists():
            problems.append(f"{where}: {path.name} is missing (an entry folder holds entry.yaml, {entry.id}.py, "
                            f"README.md, example.py and test_{entry.id}.py)")
    if entry.impl_file.exists():
        bad = forbidden_imports(entry.impl_file)
        if bad:
            problems.append(f"{_display(entry.impl_file)}: imports {', '.join(bad)}; an implementation may import "
                            "only the standard library, torch, numpy and cv2")
    for path in (entry.yaml_file, entry.impl_file, entry.readme_file):
        if path.exists() and "TODO" in path.read_text(encoding="utf-8"):
            problems.append(f"{_display(path)}: still contains TODO placeholders")
    if entry.readme_file.exists() and "## Deviations" not in entry.readme_file.read_text(encoding="utf-8"):
        problems.append(f"{_display(entry.readme_file)}: has no '## Deviations' section")
    tests = defined_functions(entry.test_file)
    for name, fn in entry.baselines.items():
        if fn not in tests:
            problems.append(f"{_display(entry.yaml_file)}: baselines.{name}: no function '{fn}' in {entry.test_file.name}")
    for i, claim in enumerate(entry.claims):
        if claim.measure and claim.measure not in tests:
            problems.append(f"{_display(entry.yaml_file)}: claims[{i}].measure: no function '{claim.measure}' "
                            f"in {entry.test_file.name}")
    return problems


def problems(reg: Registry, ids: list[str] | None = None, *, import_code: bool = True) -> list[str]:
    """Everything wrong with the given entries (all when ids is None), one line each."""
    found: list[str] = []
    if ids is None:
        found.extend(reg.broken.values())
        selected = reg.entries()
    else:
        selected = []
        for name in ids:
            try:
                selected.append(reg.entry(name))
            except BrokenEntryError as exc:
                found.append(str(exc))
    for entry in selected:
        found.extend(static_problems(entry))
        for name in entry.related:
            if name not in reg:
                found.append(f"{_display(entry.yaml_file)}: related: unknown entry '{name}'")
        if import_code:
            try:
                obj = reg.get(entry.id)
                if not callable(obj):
                    found.append(f"{_display(entry.yaml_file)}: impl: '{entry.impl}' is not callable")
            except BrokenEntryError as exc:
                found.append(str(exc))
    return found
