"""What is special about CBAM (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import UnknownEntryError, create, entry


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def cbam_resnet50_params() -> int:
    """Table 4: parameters of ResNet-50 with CBAM in every bottleneck's residual branch."""
    return count(create("resnet50", attention="cbam"))


def _needs_resnet50() -> None:
    try:
        entry("resnet50")
    except UnknownEntryError:
        pytest.skip("no resnet50 entry registered")


def reference(cbam: torch.nn.Module, x: torch.Tensor, *, spatial_first: bool = False) -> torch.Tensor:
    """Eqs. 1-3 written out literally, with the module's own weights."""
    def mlp(v):
        return cbam.fc2(torch.relu(cbam.fc1(v)))

    def mc(f):  # Eq. 2
        return torch.sigmoid(mlp(f.mean(dim=(2, 3))) + mlp(f.amax(dim=(2, 3))))[:, :, None, None]

    def ms(f):  # Eq. 3
        return torch.sigmoid(cbam.conv(torch.cat([f.mean(1, keepdim=True), f.amax(1, keepdim=True)], 1)))

    if spatial_first:
        x = x * ms(x)
        return x * mc(x)
    x = x * mc(x)  # Eq. 1: channel first, then spatial
    return x * ms(x)


def test_defaults_follow_the_paper():
    cbam = create("cbam", channels=64)
    assert cbam.fc1.out_features == 64 // 16  # r = 16
    assert cbam.conv.kernel_size == (7, 7)  # Eq. 3: the 7x7 filter
    assert cbam.conv.in_channels == 2 and cbam.conv.out_channels == 1  # [F_avg^s; F_max^s] -> one map


def test_channel_then_spatial_as_in_eq1():
    torch.manual_seed(0)
    cbam = create("cbam", channels=16, reduction=4).eval()
    x = torch.randn(2, 16, 9, 11)
    with torch.no_grad():
        y = cbam(x)
        assert torch.allclose(y, reference(cbam, x), atol=1e-6)
        assert not torch.allclose(y, reference(cbam, x, spatial_first=True), atol=1e-4)


def test_channel_gate_uses_both_average_and_max_pooling():
    torch.manual_seed(0)
    cbam = create("cbam", channels=8, reduction=2).eval()
    x = torch.rand(1, 8, 5, 5)
    flat = x.view(1, 8, 25)
    top = int(flat[0, 3].argmax())
    low = int(flat[0, 3].argmin())
    # Same per-channel means, larger maximum: only the max-pooled descriptor changes.
    same_mean = x.clone()
    same_mean.view(1, 8, 25)[0, 3, top] += 1.0
    same_mean.view(1, 8, 25)[0, 3, low] -= 1.0
    assert torch.allclose(same_mean.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-6)
    # Same per-channel maxima, different mean: only the average-pooled descriptor changes.
    same_max = x.clone()
    same_max.view(1, 8, 25)[0, 3, low] -= 1.0
    assert torch.equal(same_max.amax(dim=(2, 3)), x.amax(dim=(2, 3)))
    with torch.no_grad():
        gate = cbam.channel_gate(x)
        assert not torch.allclose(cbam.channel_gate(same_mean), gate, atol=1e-5)
        assert not torch.allclose(cbam.channel_gate(same_max), gate, atol=1e-5)


def test_channel_gate_is_global_over_space():
    # Eq. 2 pools over all of H x W: shuffling the pixels leaves the gate unchanged.
    torch.manual_seed(0)
    cbam = create("cbam", channels=16, reduction=4).eval()
    x = torch.randn(2, 16, 6, 7)
    shuffled = x.flatten(2)[:, :, torch.randperm(42)].reshape_as(x)
    with torch.no_grad():
        assert torch.allclose(cbam.channel_gate(x), cbam.channel_gate(shuffled), atol=1e-6)


def test_spatial_gate_is_one_map_shared_by_all_channels():
    torch.manual_seed(0)
    cbam = create("cbam", channels=16, reduction=4).eval()
    x = torch.rand(2, 16, 7, 5) + 0.5  # positive, so y / F' is the spatial gate
    with torch.no_grad():
        refined = x * cbam.channel_gate(x)  # F'
        gate = cbam(x) / refined  # M_s(F'), broadcast over channels
    assert torch.allclose(gate, gate[:, :1].expand_as(gate), atol=1e-5)
    assert bool(((gate > 0) & (gate < 1)).all())
    assert not torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-4)  # it varies over pixels


def test_spatial_gate_sees_only_channel_average_and_max():
    # Eq. 3 pools along the channel axis: permuting channels leaves the spatial gate unchanged.
    torch.manual_seed(0)
    cbam = create("cbam", channels=16, reduction=4).eval()
    f = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.allclose(cbam.spatial_gate(f), cbam.spatial_gate(f[:, torch.randperm(16)]), atol=1e-6)


def test_spatial_gate_is_local_to_the_kernel():
    # A pixel change reaches the spatial gate only within kernel_size // 2 = 3 pixels.
    torch.manual_seed(0)
    cbam = create("cbam", channels=8, reduction=2).eval()
    f = torch.randn(1, 8, 16, 16)
    g = f.clone()
    g[0, :, 8, 8] += 5.0
    with torch.no_grad():
        changed = (cbam.spatial_gate(f) - cbam.spatial_gate(g)).abs()[0, 0] > 0
    rows, cols = changed.nonzero(as_tuple=True)
    assert changed[8, 8]
    assert int((rows - 8).abs().max()) <= 3 and int((cols - 8).abs().max()) <= 3


def test_official_variant_adds_a_batchnorm():
    plain = create("cbam", channels=64)
    official = create("cbam", channels=64, spatial_norm=True)
    assert count(official) - count(plain) == 2  # BatchNorm2d(1): weight and bias
    assert count(create("cbam", channels=64, bias=False)) == 2 * 64 * 64 // 16 + 98


def test_rejects_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        create("cbam", channels=64, kernel_size=6)


def test_resnet50_count_is_se_plus_spatial_convs():
    # CBAM-ResNet-50 = ResNet-50 + per block (2C^2/r + C/r + C) for the MLP + 98 for the 7x7 conv.
    _needs_resnet50()
    stages = [(3, 256), (4, 512), (6, 1024), (3, 2048)]
    extra = sum(n * (2 * c * c // 16 + c // 16 + c + 98) for n, c in stages)
    assert cbam_resnet50_params() - count(create("resnet50")) == extra
