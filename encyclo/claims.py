"""Measuring an entry's claims against its code: the figure the paper states vs the one we compute.

``params``/``macs``/``flops`` are counted by the measuring engine (meta device); any other claim is
computed by the zero-argument function its ``measure`` field names in the entry's test file.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

from .registry import Claim, Entry, registry


@dataclass
class ClaimResult:
    claim: Claim
    measured: Any
    error: str | None = None

    @property
    def reproduced(self) -> bool:
        return self.error is None and self.claim.holds(self.measured)

    @property
    def ok(self) -> bool:
        """Reproduced, or a named deviation that indeed does not reproduce."""
        if self.error is not None:
            return False
        return self.reproduced != bool(self.claim.deviation)

    @property
    def status_text(self) -> str:
        if self.error:
            return f"could not be measured: {self.error}"
        if self.claim.deviation and self.reproduced:
            return f"marked as a deviation but reproduces ({self.measured}); remove the deviation mark"
        if self.claim.deviation:
            return f"known deviation: measured {self.measured} ({self.claim.deviation})"
        return "reproduced" if self.reproduced else f"NOT reproduced: measured {self.measured}"


def test_module(entry: Entry):
    """The entry's test file as a module (imported once, under a unique name)."""
    name = f"encyclo_entry_test_{entry.id}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, entry.test_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def measure_claim(entry: Entry, claim: Claim) -> Any:
    if claim.measure:
        return getattr(test_module(entry), claim.measure)()
    from .contracts import bind, make_inputs, parse_shape
    from .measure.counting import count_ops

    name = claim.variant or entry.id
    kwargs = claim.kwargs
    if claim.what == "params":
        from .measure.counting import count_params
        import torch

        with torch.device("meta"):
            return count_params(registry().create(name, **kwargs))[0]
    binding = bind(entry.io, parse_shape(claim.input, flag="claim input"), name=name)
    counted = count_ops(lambda: registry().create(name, **{**binding.kwargs, **kwargs}),
                        lambda device: make_inputs(binding, device=device), per_module=False)
    return counted.macs if claim.what == "macs" else counted.flops


def evaluate_claims(entry: Entry) -> list[ClaimResult]:
    results = []
    for claim in entry.claims:
        try:
            results.append(ClaimResult(claim, measure_claim(entry, claim)))
        except Exception as exc:  # reported per claim; the other claims are still measured
            results.append(ClaimResult(claim, None, f"{type(exc).__name__}: {exc}"))
    return results
