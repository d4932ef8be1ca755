"""Parameters, MACs and FLOPs, counted by dispatch on the meta device (design.md §5).

MACs are the multiply-accumulates of GEMM-like ops (matmul, linear, convolution, attention), taken from
``torch.utils.flop_counter``'s formulas (which count 2 FLOPs per MAC). FLOPs = 2 x MACs + an estimate of
every other op: one FLOP per output element for pointwise ops, one per input element for reductions,
a few per element for norms and softmax, kernel-area per output for pooling. Ops with neither a formula
nor an estimate (and that do not merely move data) are listed as *uncounted*, never silently dropped.

Counting on the meta device costs no memory and no arithmetic, so ViT-L or ResNet-152 count in
milliseconds; a model that cannot be built on meta is counted on CPU, with the same result.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry, sdpa_flop

from ..contracts import with_input_grad

aten = torch.ops.aten


def _sdpa_cpu_flops(query, key, value, *args, out_val=None, **kwargs) -> int:
    # torch 2.13's CPU SDPA dispatches here and has no formula upstream (it would count 0).
    return sdpa_flop(query, key, value, out_val=out_val)


def _formula(packet: Any) -> Callable | None:
    """torch's formula for a GEMM-like op (already wrapped to take tensors and ``out_val``), if any."""
    if packet is aten._scaled_dot_product_flash_attention_for_cpu:
        return _sdpa_cpu_flops
    return flop_registry.get(packet)


# Ops that only move, view, allocate or generate data: zero FLOPs by definition (not "uncounted").
_DATA_MOVEMENT = {
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze", "slice",
    "select", "index_select", "cat", "stack", "split", "split_with_sizes", "unbind", "chunk", "clone", "copy_",
    "_to_copy", "contiguous", "detach", "alias", "empty", "empty_like", "empty_strided", "zeros", "zeros_like",
    "ones", "ones_like", "full", "full_like", "new_empty", "new_zeros", "new_ones", "new_full", "new_empty_strided",
    "arange", "flatten", "as_strided", "gather", "index", "constant_pad_nd", "roll", "flip", "embedding",
    "fill_", "zero_", "lift_fresh", "lift_fresh_copy", "randperm", "rand", "randn", "rand_like", "randn_like",
    "randint", "bernoulli_", "bernoulli", "uniform_", "normal_", "_local_scalar_dense", "scalar_tensor",
    "masked_fill", "masked_fill_", "where", "repeat", "tile", "narrow", "diagonal", "movedim", "unfold",
    "im2col", "col2im", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_dropout", "dropout",
    "_reshape_alias", "view_as", "expand_as", "unsqueeze_", "squeeze_", "t_", "transpose_", "detach_",
    "set_", "resize_", "_unsafe_index", "_unsafe_index_put", "index_put", "index_put_", "scatter", "scatter_",
    "slice_scatter", "select_scatter", "as_strided_scatter", "sort", "topk", "argsort",
    "max_pool2d_with_indices_backward", "_pdist_forward", "tril", "triu", "tril_", "triu_", "eye", "linspace",
    "_assert_tensor_metadata", "sym_size", "sym_numel", "to", "type_as", "_pin_memory", "one_hot",
}
_REDUCTIONS = {"sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod",
               "norm", "linalg_vector_norm", "argmax", "argmin", "logsumexp", "cumsum", "cumprod", "all", "any",
               "_adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_avg_pool3d", "count_nonzero"}
_NORMS = {"native_batch_norm": 5, "_native_batch_norm_legit": 5, "_native_batch_norm_legit_no_training": 2,
          "_native_batch_norm_legit_functional": 5, "native_layer_norm": 5, "native_group_norm": 5,
          "_fused_rms_norm": 4, "rms_norm": 4, "batch_norm": 5, "instance_norm": 5, "layer_norm": 5,
          "group_norm": 5, "_softmax": 5, "_log_softmax": 5, "softmax": 5, "log_softmax": 5, "_safe_softmax": 5}
_POOLS = {"avg_pool2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool1d", "max_pool1d",
          "avg_pool3d", "max_pool3d_with_indices"}


def _numel(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel()
    flat, _ = tree_flatten(x)
    return sum(t.numel() for t in flat if isinstance(t, torch.Tensor))


def _first_tensor(args: tuple) -> torch.Tensor | None:
    flat, _ = tree_flatten(args)
    return next((a for a in flat if isinstance(a, torch.Tensor)), None)


def _estimate_other(func: Any, name: str, args: tuple, out: Any) -> int | None:
    """FLOPs of a non-GEMM op, or None when we have no estimate."""
    if name in _DATA_MOVEMENT:
        return 0
    if name in _NORMS:
        first = _first_tensor(args)
        return _NORMS[name] * (first.numel() if first is not None else _numel(out))
    if name in _REDUCTIONS:
        first = _first_tensor(args)
        return first.numel() if first is not None else 0
    if name in _POOLS:
        kernel = args[1] if len(args) > 1 else [1]
        area = math.prod(kernel) if isinstance(kernel, (list, tuple)) else int(kernel) ** 2
        out0 = out[0] if isinstance(out, (tuple, list)) else out
        return _numel(out0) * max(area, 1)
    if torch.Tag.pointwise in getattr(func, "tags", ()):
        return _numel(out[0] if isinstance(out, (tuple, list)) else out)
    return None


@dataclass
class ModuleRecord:
    """One module's row in a layer-by-layer summary (MACs and FLOPs include its children's)."""

    name: str
    type: str
    depth: int
    output_shape: str = ""
    params: int = 0
    macs: int = 0
    other_flops: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops


@dataclass
class OpCount:
    """What one forward (and backward, in train mode) costs."""

    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    other_flops: int = 0
    uncounted: dict[str, int] = field(default_factory=dict)  # op name -> number of calls
    modules: list[ModuleRecord] = field(default_factory=list)
    device: str = "meta"

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops


class _CountingMode(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.macs = 0
        self.other = 0
        self.uncounted: Counter[str] = Counter()
        self.stack: list[ModuleRecord] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        formula = _formula(packet)
        name = packet.__name__
        if formula is None and name not in _DATA_MOVEMENT and name not in _NORMS and name not in _REDUCTIONS \
                and name not in _POOLS and torch.Tag.pointwise not in func.tags:
            decomposed = func.decompose(*args, **kwargs)  # e.g. linear -> addmm: count the parts
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        if formula is not None:
            macs, other = formula(*args, **kwargs, out_val=out) // 2, 0
        else:
            estimate = _estimate_other(func, name, args, out)
            if estimate is None:
                self.uncounted[name] += 1
                return out
            macs, other = 0, estimate
        self.macs += macs
        self.other += other
        for record in self.stack:
            record.macs += macs
            record.other_flops += other
        return out


def count_params(module: torch.nn.Module) -> tuple[int, int]:
    """(total, trainable) parameters, each shared tensor counted once."""
    seen: dict[int, torch.nn.Parameter] = {id(p): p for p in module.parameters()}
    total = sum(p.numel() for p in seen.values())
    trainable = sum(p.numel() for p in seen.values() if p.requires_grad)
    return total, trainable


def count_ops(build: Callable[[], torch.nn.Module], make_input: Callable[[str], tuple], *,
              train: bool = False, device: str = "meta", per_module: bool = True) -> OpCount:
    """Count MACs/FLOPs of one forward (+ backward if ``train``) of ``build()`` on ``make_input(device)``.

    ``device="meta"`` (the default) falls back to CPU when the model cannot run on meta tensors.
    """
    try:
        return _count_on(device, build, make_input, train=train, per_module=per_module)
    except (NotImplementedError, RuntimeError, TypeError, ValueError) as exc:
        if device != "meta":
            raise
        result = _count_on("cpu", build, make_input, train=train, per_module=per_module)
        result.device = f"cpu (meta failed: {type(exc).__name__})"
        return result


def _count_on(device: str, build: Callable, make_input: Callable, *, train: bool, per_module: bool) -> OpCount:
    with torch.device(device):
        model = build()
    model.train(train)
    inputs = make_input(device)
    if train:  # as inside a network: the input's gradient is part of a training step
        inputs = with_input_grad(inputs)
    mode = _CountingMode()
    records: list[ModuleRecord] = []
    handles = []
    if per_module:
        names = {m: n for n, m in model.named_modules()}
        by_module: dict[int, ModuleRecord] = {}

        def pre_hook(mod, _inp):
            record = by_module.get(id(mod))
            if record is None:
                name = names.get(mod, type(mod).__name__)
                record = ModuleRecord(name=name or type(mod).__name__, type=type(mod).__name__,
                                      depth=0 if not name else name.count(".") + 1,
                                      params=count_params(mod)[0])
                by_module[id(mod)] = record
                records.append(record)
            mode.stack.append(record)

        def post_hook(mod, _inp, out):
            record = mode.stack.pop()
            if not record.output_shape:
                from ..contracts import output_shape

                record.output_shape = output_shape(out)

        for mod in model.modules():
            handles.append(mod.register_forward_pre_hook(pre_hook))
            handles.append(mod.register_forward_hook(post_hook))
    try:
        with mode:
            if train:
                out = model(*inputs)
                flat = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor) and o.is_floating_point()]
                sum(o.float().sum() for o in flat).backward()
            else:
                with torch.no_grad():
                    model(*inputs)
    finally:
        for h in handles:
            h.remove()
    params, trainable = count_params(model)
    return OpCount(params=params, trainable_params=trainable, macs=mode.macs, other_flops=mode.other, uncounted=dict(mode.uncounted), modules=records,
                   device=device)
