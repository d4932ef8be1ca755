"""Shared fixtures: throwaway entry roots, registries over them, the CUDA skip, and the background site build."""

from __future__ import annotations

import os
import warnings

# One thread per process: pytest-xdist runs two workers on two cores, and each CLI subprocess or example
# inherits this; more threads only oversubscribe the cores (tests took 10x longer under contention).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The tests' throwaway entries must not land in the user's metadata cache (~/.cache/encyclo).
if "ENCYCLO_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["ENCYCLO_CACHE_DIR"] = tempfile.mkdtemp(prefix="encyclo-test-cache-")
from pathlib import Path
from typing import Iterator

import pytest

from encyclo.registry import Registry

import sitebuild


def _cuda() -> bool:
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    # The tests that read the site build go last (a stable sort; every xdist worker sorts alike): the build
    # starts in the background with the first test, and a worker that reached a site test early would sit
    # idle waiting for it with the rest of its share of the tests queued behind.
    items.sort(key=sitebuild.needs_site)
    if _cuda():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (none here); run on a GPU machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _site_build_in_background(request, tmp_path_factory) -> Iterator[None]:
    """Start the one site build of the session early, in its own process (see sitebuild.py); the worker
    that started it waits for it at the end (another worker may still need it)."""
    build = sitebuild.start_build(tmp_path_factory) if sitebuild.wanted(request.session.items) else None
    yield
    if build is not None:
        build.wait(timeout=1500)


@pytest.fixture
def entry_root(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    root.mkdir()
    return root


@pytest.fixture
def quiet_registry():
    """Build a Registry over roots without turning its broken-entry warnings into errors."""
    def build(*roots: Path) -> Registry:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Registry(list(roots))
    return build
