"""Peak memory of one call, above what was allocated before it (design.md §5).

CUDA: the caching allocator's ``max_memory_allocated`` above a baseline. CPU: RSS and tracemalloc do
not see torch's allocator, so we take the allocation profile at tensor level: a dispatch mode records
every storage an op creates and drops it when its last reference dies, and the peak of the running
total is reported. Kernel-internal workspaces (e.g. an im2col buffer) are invisible to it and so not
counted; the figure is a lower bound of what the process needs beyond its inputs and weights. numpy
(and opencv, which allocates through numpy) report to tracemalloc, which torch's allocator does not:
the two peaks are of disjoint allocations and are added, so image augmentations are measured too.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class _AllocationProfile(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = 0
        self.peak = 0

    def _collect(self) -> None:
        for key in [k for k, (ref, _) in self.live.items() if ref.expired()]:
            self.current -= self.live.pop(key)[1]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self._collect()
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self.live:
                    self.live[key] = (StorageWeakRef(storage), storage.nbytes())
                    self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)
        return out


def peak_memory(fn: Callable[[], Any], device: str) -> int:
    """Bytes allocated at the peak of one call of ``fn`` above what was live before it."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        baseline = torch.cuda.memory_allocated(device)
        result = fn()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - baseline
        del result
        return int(peak)
    import tracemalloc

    with _AllocationProfile():  # the first dispatch-mode use imports torch machinery: not the call's memory
        torch.zeros(1) + 1
    profile = _AllocationProfile()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    try:
        with profile:
            result = fn()
        numpy_peak = tracemalloc.get_traced_memory()[1] - baseline
        del result
    finally:
        if not already:
            tracemalloc.stop()
    return int(profile.peak + max(numpy_peak, 0))
