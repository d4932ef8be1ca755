"""The io contracts of design.md §4: how an ``--input`` shape binds to an entry's constructor and call.

Parsing and binding are pure; the functions that make tensors import torch lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import EncycloError
from .schema import IO_CONTRACTS

AUGMENT_NUM_CLASSES = 10  # soft-target width used when comparing/benchmarking batch augmentations


def parse_shape(text: str, *, flag: str = "--input") -> tuple[int, ...]:
    """``"1x64x56x56"`` -> ``(1, 64, 56, 56)``, with a one-line error for anything else."""
    parts = text.strip().lower().split("x")
    if not text.strip() or any(not p.isdigit() for p in parts):
        raise EncycloError(f"{flag} '{text}': expected dimensions like 1x64x56x56 (positive integers joined by 'x')")
    shape = tuple(int(p) for p in parts)
    if any(d == 0 for d in shape):
        raise EncycloError(f"{flag} '{text}': every dimension must be at least 1")
    return shape


def format_shape(shape: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(d) for d in shape)


@dataclass(frozen=True)
class Binding:
    """An input shape bound to one entry: constructor arguments and a human description."""

    io: str
    shape: tuple[int, ...]
    kwargs: dict

    @property
    def batch(self) -> int:
        return 1 if self.io == "image_augment" else self.shape[0]


def bind(io: str, shape: tuple[int, ...], *, name: str = "") -> Binding:
    """Bind an input shape to an io contract, or say clearly why it cannot take it."""
    rank = IO_CONTRACTS[io]
    if len(shape) != rank:
        layout = {"tokens": "NxLxD", "image_augment": "HxWxC"}.get(io, "NxCxHxW")
        who = f"'{name}' " if name else ""
        raise EncycloError(f"{who}(io {io}) takes a rank-{rank} input {layout}, got {format_shape(shape)}")
    if io == "feature_map":
        kwargs = {"channels": shape[1]}
    elif io == "tokens":
        kwargs = {"dim": shape[2]}
    elif io in ("classifier", "dense"):
        kwargs = {"in_chans": shape[1]}
    else:
        kwargs = {}
    return Binding(io, shape, kwargs)


def make_inputs(binding: Binding, *, dtype: str = "float32", device: str = "cpu", seed: int = 0) -> tuple:
    """Random inputs for a binding; returns the positional arguments of the call."""
    if binding.io == "image_augment":
        import numpy as np

        rng = np.random.default_rng(seed)
        return (rng.integers(0, 256, size=binding.shape, dtype=np.uint8),)
    import torch

    gen = torch.Generator(device="cpu").manual_seed(seed)
    torch_dtype = getattr(torch, dtype)
    if binding.io == "batch_augment":
        images = torch.rand(binding.shape, generator=gen).to(device=device, dtype=torch_dtype)
        targets = torch.randint(0, AUGMENT_NUM_CLASSES, (binding.shape[0],), generator=gen).to(device)
        return images, targets
    return (torch.randn(binding.shape, generator=gen).to(device=device, dtype=torch_dtype),)


def with_input_grad(inputs: tuple) -> tuple:
    """The floating inputs set to require a gradient: a layer trains inside a network, so a training step
    differentiates its input too (and parameter-free layers such as SimAM would have nothing to differentiate)."""
    return tuple(x.requires_grad_(True) if x.is_floating_point() else x for x in inputs)


def make_generator(binding: Binding, *, device: str = "cpu", seed: int = 0) -> Any:
    """The explicit random generator an augmentation takes (None for modules)."""
    if binding.io == "image_augment":
        import numpy as np

        return np.random.default_rng(seed)
    if binding.io == "batch_augment":
        import torch

        return torch.Generator(device=device).manual_seed(seed)
    return None


def call(obj: Any, binding: Binding, inputs: tuple, *, device: str = "cpu", seed: int = 0,
         generator: Any = None) -> Any:
    """Run an entry on inputs made by :func:`make_inputs`. Augmentations get ``generator`` or a fresh one
    seeded with ``seed``; a measuring loop passes one generator that advances, so that repeated calls
    sample the augmentation's random branches (applied or not, box sizes...) as training would."""
    if generator is None:
        generator = make_generator(binding, device=device, seed=seed)
    if binding.io == "image_augment":
        return obj(inputs[0], generator)
    if binding.io == "batch_augment":
        return obj(inputs[0], inputs[1], num_classes=AUGMENT_NUM_CLASSES, generator=generator)
    return obj(*inputs)


def expected_output_shape(binding: Binding, model: Any = None) -> tuple[int, ...] | None:
    """The output shape the contract promises (None where the contract leaves it open)."""
    n = binding.shape[0]
    if binding.io in ("feature_map", "tokens"):
        return binding.shape
    if binding.io == "classifier":
        return (n, getattr(model, "num_classes", 1000))
    if binding.io == "dense":
        return (n, getattr(model, "num_classes", 1), *binding.shape[2:])
    return None


def output_shape(output: Any) -> str:
    """A printable shape of whatever an entry returned (tensor, array, or a tuple of them)."""
    if isinstance(output, (tuple, list)):
        return ", ".join(output_shape(o) for o in output)
    shape = getattr(output, "shape", None)
    return format_shape(tuple(shape)) if shape is not None else type(output).__name__
