"""One measuring engine for compare, summary, bench and the site (design.md §5).

``measure_many(names, shape, config)`` binds an input shape to each entry through its io contract,
counts params/MACs/FLOPs on the meta device, measures peak memory and output shape on the real
device, and times all entries interleaved in one process. Each result is a flat row of stable
snake_case keys (documented in docs/measuring.md); a failing entry gives a row with ``status``
``oom`` or ``error`` and the others go on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..contracts import (Binding, bind, call, format_shape, make_generator, make_inputs, output_shape,
                         with_input_grad)
from ..registry import EncycloError, registry
from ..schema import FLOAT_DTYPES, MODES

DTYPES = FLOAT_DTYPES + ("uint8",)


@dataclass(frozen=True)
class Config:
    """How to run: the options that make two measurements comparable."""

    device: str = "cpu"
    dtype: str = "float32"
    mode: str = "infer"  # infer: inference_mode forward; train: forward + backward
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None  # CPU threads; None: the free cores

    def resolved(self) -> "Config":
        """Validate and fill in defaults; one-line errors for bad options."""
        if self.dtype not in DTYPES:
            raise EncycloError(f"--dtype '{self.dtype}': expected one of {', '.join(DTYPES)}")
        if self.mode not in MODES:
            raise EncycloError(f"--mode '{self.mode}': expected one of {', '.join(MODES)}")
        device = self.device
        if not (device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
            raise EncycloError(f"--device '{device}': expected cpu, cuda or cuda:N")
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise EncycloError(f"--device {device}: no CUDA device is available here "
                                   f"(torch {torch.__version__}, built with CUDA {torch.version.cuda or 'none'})")
            index = int(device[5:]) if ":" in device else 0
            if index >= torch.cuda.device_count():
                raise EncycloError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
        threads = self.threads
        if threads is not None and threads < 1:
            raise EncycloError(f"--threads {threads}: expected a positive number of threads")
        if device == "cpu" and threads is None:
            from .latency import free_cores

            threads = free_cores()
        return replace(self, threads=threads)


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(device)
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor() or 'CPU'} ({os.cpu_count()} cores)"


@dataclass
class Subject:
    """One entry (or variant, composition ``resnet50+cbam``, or baseline ``layernorm@torch``) on a shape.

    ``<id>@<baseline>`` builds the entry's baseline (torch's own implementation, or a plain numpy one)
    from the entry's own arguments, so compare and bench time both under identical conditions.
    """

    name: str
    entry: Any
    variant: str | None
    binding: Binding
    baseline: str | None = None

    @classmethod
    def of(cls, name: str, shape: tuple[int, ...]) -> "Subject":
        reg = registry()
        target, baseline = split_baseline(name)
        base = target.split("+", 1)[0]
        entry, variant = reg.resolve(base)
        if "+" in target:
            reg.entry(target.split("+", 1)[1])  # an unknown block name fails here, with "did you mean"
            if "attention" not in entry.slots:
                raise EncycloError(f"'{name}': '{entry.id}' has no attention slot")
        if baseline is not None and baseline not in entry.baselines:
            having = ", ".join(f"{e.id}@{b}" for e in reg.entries() for b in e.baselines) or "none"
            raise EncycloError(f"'{name}': '{entry.id}' names no '{baseline}' baseline (available: {having})")
        return cls(name, entry, variant, bind(entry.io, shape, name=name), baseline)

    def build(self) -> Any:
        reg = registry()
        if self.baseline is not None:
            from ..claims import test_module

            target = split_baseline(self.name)[0]
            config = reg.config(target, **self.binding.kwargs)
            return getattr(test_module(self.entry), self.entry.baselines[self.baseline])(**config)
        return reg.create(self.name, **self.binding.kwargs)


def split_baseline(name: str) -> tuple[str, str | None]:
    """``"layernorm@torch"`` -> ``("layernorm", "torch")``; names without ``@`` have no baseline."""
    target, _, baseline = name.partition("@")
    return target, baseline or None


def _check_combination(subject: Subject, config: Config) -> None:
    io = subject.entry.io
    if io == "image_augment" and config.dtype != "uint8":
        raise EncycloError(f"'{subject.name}' (io image_augment) works on uint8 images; use --dtype uint8")
    if io != "image_augment" and config.dtype == "uint8":
        raise EncycloError(f"'{subject.name}' (io {io}) takes floating-point inputs, not --dtype uint8")
    if not subject.entry.is_module and config.mode == "train":
        raise EncycloError(f"'{subject.name}' is an augmentation: it has no train mode (use --mode infer)")
    if io == "image_augment" and config.device != "cpu":
        raise EncycloError(f"'{subject.name}' (io image_augment) runs on CPU numpy/opencv arrays")


def count(subject: Subject, *, train: bool = False, per_module: bool = False):
    """Params and MACs/FLOPs of a module entry (None for augmentations)."""
    if not subject.entry.is_module:
        return None
    from .counting import count_ops

    return count_ops(subject.build, lambda device: make_inputs(subject.binding, device=device), train=train,
                     per_module=per_module)


@dataclass
class Prepared:
    subject: Subject
    step: Callable[[], Any]
    output: Any
    bytes_lower_bound: int


def prepare(subject: Subject, config: Config) -> Prepared:
    """Build on the device, make inputs, and the step function (one forward, or forward+backward)."""
    import torch

    _check_combination(subject, config)
    inputs = make_inputs(subject.binding, dtype=config.dtype if config.dtype != "uint8" else "float32",
                         device=config.device)
    if not subject.entry.is_module:
        fn = subject.build()
        if config.compile:
            fn = torch.compile(fn)
        generator = make_generator(subject.binding, device=config.device)  # advances across calls

        def step() -> Any:
            return call(fn, subject.binding, inputs, generator=generator)

        out = step()
        nbytes = _nbytes(inputs) + _nbytes(out)
        return Prepared(subject, step, out, nbytes)

    model = subject.build().to(device=config.device, dtype=getattr(torch, config.dtype))
    if config.channels_last:
        if len(subject.binding.shape) != 4:
            raise EncycloError(f"'{subject.name}': --channels-last needs a 4-D input")
        model = model.to(memory_format=torch.channels_last)
        inputs = tuple(x.contiguous(memory_format=torch.channels_last) for x in inputs)
    params_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    runner = torch.compile(model) if config.compile else model
    if config.mode == "train":
        model.train()
        inputs = with_input_grad(inputs)

        def step() -> Any:
            model.zero_grad(set_to_none=True)
            out = runner(*inputs)
            flat = out if isinstance(out, (tuple, list)) else (out,)
            sum(o.float().sum() for o in flat if o.is_floating_point()).backward()
            return out
    else:
        model.eval()

        def step() -> Any:
            with torch.inference_mode():
                return runner(*inputs)

    out = step()
    return Prepared(subject, step, out, _nbytes(inputs) + _nbytes(out) + params_bytes)


def _nbytes(obj: Any) -> int:
    import numpy as np
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (tuple, list)):
        return sum(_nbytes(o) for o in obj)
    return 0


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def measure_many(names: list[str], shape: tuple[int, ...], config: Config, *, timing: bool = True,
                 memory: bool = True, budget_s: float = 1.0, with_roofline: bool = False,
                 warmup_s: float = 0.2) -> list[dict]:
    """Measure several entries on one input under one config; timed interleaved. One row per name."""
    import torch

    config = config.resolved()
    subjects = [Subject.of(name, shape) for name in names]  # unknown ids/shape mismatches: fail before any work
    for subject in subjects:
        _check_combination(subject, config)
    previous_threads = torch.get_num_threads()
    previous_cv2 = _cv2_threads()
    if config.device == "cpu":
        torch.set_num_threads(config.threads)
        _cv2_threads(config.threads)  # opencv keeps its own pool: augmentations honour --threads too
    try:
        rows, prepared = [], []
        for subject in subjects:
            row = base_row(subject, config)
            try:
                counted = count(subject, train=config.mode == "train")
                if counted is not None:
                    row.update(params=counted.params, trainable_params=counted.trainable_params, macs=counted.macs,
                               flops=counted.flops, uncounted_ops=sorted(counted.uncounted), count_device=counted.device)
                else:
                    row.update(params=0, trainable_params=0)
                p = prepare(subject, config)
                row["output_shape"] = output_shape(p.output)
                if memory:
                    row["peak_memory_bytes"] = _peak(p, config)
                prepared.append((row, p))
            except Exception as exc:  # recorded, the others go on
                if isinstance(exc, EncycloError):
                    raise
                row.update(status="oom" if _is_oom(exc) else "error", error=f"{type(exc).__name__}: {exc}"[:500])
                if config.device.startswith("cuda"):
                    torch.cuda.empty_cache()
            rows.append(row)
        if timing and prepared:
            from .latency import time_callables

            timings = time_callables([p.step for _, p in prepared], device=config.device, budget_s=budget_s,
                                     warmup_s=warmup_s)
            for (row, p), t in zip(prepared, timings):
                row.update(t.as_row())
                row["throughput_per_s"] = p.subject.binding.batch / (t.median_ms / 1e3) if t.median_ms else None
                if with_roofline and row.get("flops") is not None and t.median_ms:
                    from .roofline import peaks_for, roofline

                    peaks = peaks_for(config.device, row["device_name"], config.threads or 1)
                    row.update(roofline(row["flops"], p.bytes_lower_bound, t.median_ms / 1e3,
                                        config.dtype, peaks))
        return rows
    finally:
        torch.set_num_threads(previous_threads)
        _cv2_threads(previous_cv2)


def _cv2_threads(n: int | None = None) -> int | None:
    """opencv's thread count (set it when ``n`` is given); None where opencv is absent."""
    try:
        import cv2
    except ImportError:
        return None
    previous = cv2.getNumThreads()
    if n is not None:
        cv2.setNumThreads(n)
    return previous


def _peak(p: Prepared, config: Config) -> int:
    from .memory import peak_memory

    return peak_memory(p.step, config.device)


def base_row(subject: Subject, config: Config) -> dict:
    entry = subject.entry
    return {"id": entry.id, "name": subject.name, "variant": subject.variant, "category": entry.category,
            "io": entry.io, "year": entry.paper.year, "input": format_shape(subject.binding.shape),
            "device": config.device, "device_name": device_name(config.device), "dtype": config.dtype,
            "mode": config.mode, "channels_last": config.channels_last, "compile": config.compile,
            "threads": config.threads if config.device == "cpu" else None, "status": "ok"}


__all__ = ["Config", "Subject", "measure_many", "count", "prepare", "device_name", "DTYPES"]
