"""What is special about SGE (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch import nn

from encyclo import UnknownEntryError, create, entry


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _needs(name: str) -> None:
    try:
        entry(name)
    except UnknownEntryError:
        pytest.skip(f"no {name} entry registered")


def sge_resnet50_params() -> int:
    """Authors' README: SGE-ResNet50, SGE(64) on every bottleneck's residual branch."""
    return count(create("resnet50", attention="sge"))


def _trained(sge: nn.Module) -> nn.Module:
    torch.manual_seed(1)
    with torch.no_grad():
        sge.weight.normal_()
        sge.bias.normal_()
    return sge


def gate_invariant_to_group_scale() -> bool:
    torch.manual_seed(0)
    sge = _trained(create("sge", channels=64, groups=8))
    x = torch.randn(2, 64, 7, 9)
    scale = torch.rand(2, 8, 1, 1, 1) * 4.5 + 0.5  # a positive factor in [0.5, 5] per (sample, group)
    x_scaled = (x.reshape(2, 8, 8, 7, 9) * scale).reshape_as(x)
    with torch.no_grad():
        return float((sge.gate(x) - sge.gate(x_scaled)).abs().max()) < 1e-4  # exact but for eps = 1e-5


def reference(sge: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sec. 3 written out group by group in float64 (slow, for checking only)."""
    n, c, h, w = x.shape
    gsize = c // sge.groups
    out = torch.empty_like(x, dtype=torch.float64)
    for b in range(n):
        for k in range(sge.groups):
            xs = x[b, k * gsize:(k + 1) * gsize].double().reshape(gsize, h * w)  # x_i as columns
            g = xs.mean(dim=1)  # global feature
            ci = g @ xs  # c_i = g . x_i
            chat = (ci - ci.mean()) / (ci.std() + sge.eps)
            a = sge.weight[0, k, 0, 0].double() * chat + sge.bias[0, k, 0, 0].double()
            out[b, k * gsize:(k + 1) * gsize] = (xs * torch.sigmoid(a)).reshape(gsize, h, w)
    return out


def test_matches_section_3_group_by_group():
    torch.manual_seed(0)
    sge = _trained(create("sge", channels=32, groups=4))
    x = torch.randn(2, 32, 5, 6)
    with torch.no_grad():
        assert torch.allclose(sge(x).double(), reference(sge, x), atol=1e-5)


def test_gate_invariant_to_positive_group_scaling():
    assert gate_invariant_to_group_scale()


def test_starts_as_a_constant_rescale():
    # Authors' init: gamma = 0, beta = 1, so every gate is sigmoid(1) until training moves gamma.
    sge = create("sge", channels=128)
    x = torch.randn(2, 128, 6, 6)
    with torch.no_grad():
        assert torch.allclose(sge(x), x * torch.sigmoid(torch.tensor(1.0)), atol=1e-6)


def test_positions_aligned_with_the_group_mean_get_larger_gates():
    # c_i = g . x_i: with gamma > 0 the gate is monotone in the similarity to the group's global feature.
    torch.manual_seed(0)
    sge = create("sge", channels=16, groups=2)
    with torch.no_grad():
        sge.weight.fill_(1.0)
        sge.bias.zero_()
    x = torch.randn(1, 16, 5, 5)
    with torch.no_grad():
        gate, imp = sge.gate(x)[0, 0].flatten(), sge.importance(x)[0, 0].flatten()
    order = imp.argsort()
    assert bool((gate[order].diff() >= 0).all())


def test_params_are_two_per_group():
    assert count(create("sge", channels=256)) == 2 * 64
    assert count(create("sge", channels=32, groups=8)) == 16


def test_resnet50_adds_2048_parameters():
    _needs("resnet50")
    assert sge_resnet50_params() - count(create("resnet50")) == 16 * 2 * 64


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        create("sge", channels=100)
    with pytest.raises(ValueError, match="2 positions"):
        create("sge", channels=64)(torch.randn(1, 64, 1, 1))
    with pytest.raises(ValueError, match="shape"):
        create("sge", channels=64)(torch.randn(1, 128, 4, 4))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="sge", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
