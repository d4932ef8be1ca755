"""What is special about Gather-Excite (the generic suite covers shapes, gradients and claims)."""

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


def ge_resnet50_extra_params() -> int:
    """Abstract: GE-θ⁻ in every bottleneck of ResNet-50 adds no learnable parameters."""
    return count(create("resnet50", attention="gather_excite")) - count(create("resnet50"))


def gate_is_sigmoid_of_gap() -> bool:
    """GE-θ⁻, global extent: output == x * sigmoid(GAP(x)) (largest error below 1e-6)."""
    torch.manual_seed(0)
    x = torch.randn(2, 32, 7, 9) * 2
    with torch.no_grad():
        y = create("gather_excite", channels=32)(x)
    return float((y - x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True))).abs().max()) < 1e-6


def test_parameter_free_gate_is_sigmoid_of_the_global_mean():
    assert gate_is_sigmoid_of_gap()
    ge = create("gather_excite", channels=16)
    assert count(ge) == 0 and len(list(ge.buffers())) == 0


def test_excite_is_constant_over_space_and_permutation_invariant():
    # Global extent: the gathered context is one value per channel, interpolated (broadcast) to every position.
    torch.manual_seed(0)
    x = torch.rand(2, 8, 5, 6) + 0.5
    ge = create("gather_excite", channels=8)
    gate = ge(x) / x
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-6)
    shuffled = x.flatten(2)[:, :, torch.randperm(30)].reshape_as(x)
    assert torch.allclose(ge(shuffled) / shuffled, gate, atol=1e-6)


def test_parametric_gather_is_a_full_size_depthwise_filter_plus_bn():
    # GE-θ (authors' RN50-GEP): depth-wise conv with an H x W kernel, no bias, then BN, then sigmoid.
    torch.manual_seed(0)
    ge = create("gather_excite", channels=4, parametric=True, spatial_size=(5, 3)).eval()
    with torch.no_grad():
        ge.bn.running_mean.uniform_(-1, 1)
        ge.bn.running_var.uniform_(0.5, 2)
        ge.bn.weight.uniform_(0.5, 2)
        ge.bn.bias.uniform_(-1, 1)
    assert count(ge) == 4 * 5 * 3 + 2 * 4 and ge.gather.bias is None
    x = torch.randn(3, 4, 5, 3)
    context = (x * ge.gather.weight[:, 0]).sum(dim=(2, 3))  # the filter spans the map: a weighted sum
    bn = ge.bn
    context = (context - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    with torch.no_grad():
        assert torch.allclose(ge(x), x * torch.sigmoid(context)[:, :, None, None], atol=1e-5)


def test_parametric_params_at_resnet50_conv2():
    assert count(create("gather_excite", channels=256, parametric=True, spatial_size=56)) == 256 * 56 * 56 + 512


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="spatial_size"):
        create("gather_excite", channels=8, parametric=True)
    with pytest.raises(ValueError, match="built for"):
        create("gather_excite", channels=8, parametric=True, spatial_size=4)(torch.randn(2, 8, 5, 5))
    with pytest.raises(ValueError, match="shape"):
        create("gather_excite", channels=8)(torch.randn(1, 4, 5, 5))
    with pytest.raises(ValueError, match="positive"):
        create("gather_excite", channels=0)


def test_no_extra_parameters_in_resnet50():
    _needs("resnet50")
    assert ge_resnet50_extra_params() == 0


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="gather_excite", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
