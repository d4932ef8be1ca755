"""What is special about triplet attention (the generic suite covers shapes, gradients and claims)."""

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


def triplet_resnet50_params() -> int:
    """Authors' README: ResNet-50 with triplet attention in every bottleneck."""
    return count(create("resnet50", attention="triplet_attention"))


def rotated_reference(ta: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sec. 3 written with explicit rotations, as the authors' TripletAttention.forward does."""
    def gate(branch, t):  # Z-pool over dim 1 of the rotated tensor ([max, mean]), conv, BN, sigmoid, multiply
        pooled = torch.cat([t.max(dim=1, keepdim=True)[0], t.mean(dim=1, keepdim=True)], dim=1)
        return t * torch.sigmoid(branch.norm(branch.conv(pooled)))

    y_cw = gate(ta.cw, x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)  # H to the front: attends (C, W)
    y_hc = gate(ta.hc, x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)  # W to the front: attends (H, C)
    if ta.hw is None:
        return (y_cw + y_hc) / 2
    return (y_cw + y_hc + gate(ta.hw, x)) / 3


def _eval_with_stats(ta: nn.Module) -> nn.Module:
    torch.manual_seed(1)
    for m in ta.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_()
    return ta.eval()


def branches_equal_rotate_gate_rotate_back() -> bool:
    torch.manual_seed(0)
    ta = _eval_with_stats(create("triplet_attention", channels=16))
    x = torch.randn(2, 16, 9, 11)
    with torch.no_grad():
        return float((ta(x) - rotated_reference(ta, x)).abs().max()) < 1e-5


def test_matches_the_rotation_construction():
    assert branches_equal_rotate_gate_rotate_back()
    torch.manual_seed(0)
    ta = _eval_with_stats(create("triplet_attention", channels=8, no_spatial=True))
    x = torch.randn(1, 8, 5, 7)
    with torch.no_grad():
        assert torch.allclose(ta(x), rotated_reference(ta, x), atol=1e-5)


def test_params_do_not_depend_on_channels():
    for c in (3, 64, 2048):
        assert count(create("triplet_attention", channels=c)) == 3 * (2 * 7 * 7 + 2)
    assert count(create("triplet_attention", kernel_size=3)) == 3 * (2 * 3 * 3 + 2)
    assert count(create("triplet_attention", no_spatial=True)) == 2 * 100


def test_resnet50_adds_exactly_16_modules_of_300():
    _needs("resnet50")
    assert triplet_resnet50_params() - count(create("resnet50")) == 16 * 300  # 4,800


def test_each_gate_spans_its_plane():
    # Branch 1 gates (C, W), branch 2 (H, C), branch 3 (H, W): each is constant along the pooled axis only.
    torch.manual_seed(0)
    ta = _eval_with_stats(create("triplet_attention", channels=6))
    x = torch.randn(2, 6, 5, 7)
    with torch.no_grad():
        g_cw, g_hc, g_hw = ta.gates(x)
    assert g_cw.shape == (2, 6, 1, 7) and g_hc.shape == (2, 6, 5, 1) and g_hw.shape == (2, 1, 5, 7)
    assert g_cw.std(dim=1).min() > 0 and g_cw.std(dim=3).min() > 0  # varies over C and over W
    assert g_hc.std(dim=1).min() > 0 and g_hc.std(dim=2).min() > 0  # varies over C and over H


def test_cross_dimension_interaction():
    # The (C, W) gate of channel c depends on its neighbouring channels: the k x k conv runs across C with
    # no reduction, so perturbing channel 3 moves the gate of channels 0..6 only (k // 2 = 3 either side).
    torch.manual_seed(0)
    ta = _eval_with_stats(create("triplet_attention", channels=12))
    x = torch.randn(1, 12, 6, 6)
    x2 = x.clone()
    x2[0, 3] += 2.0
    with torch.no_grad():
        moved = (ta.gates(x)[0] - ta.gates(x2)[0]).abs().amax(dim=(0, 2, 3)) > 0
    assert moved[:7].all() and not moved[7:].any()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        create("triplet_attention", kernel_size=4)
    with pytest.raises(ValueError, match="shape"):
        create("triplet_attention", channels=8)(torch.randn(1, 4, 5, 5))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="triplet_attention", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
