"""What is special about FcaNet's multi-spectral attention (the generic suite covers shapes, gradients, claims)."""

import math

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


def fca_resnet50_extra_params() -> int:
    """FcaNet layers in every bottleneck of ResNet-50: the parameters added to ResNet-50."""
    return count(create("resnet50", attention="fcanet")) - count(create("resnet50"))


def dc_component_over_gap() -> float:
    """Freq^{(0,0)} / GAP for the channels that use the (0, 0) frequency; nan unless the ratio is constant."""
    torch.manual_seed(0)
    fca = create("fcanet", channels=64)  # top16: group 0 (channels 0..3) uses (0, 0)
    x = torch.randn(3, 64, 7, 7) + 2.0
    ratio = fca.compress(x)[:, :4] / x.mean(dim=(2, 3))[:, :4]
    return float(ratio.mean()) if float(ratio.std()) < 1e-5 else float("nan")


def test_dc_component_is_gap_times_sqrt_hw():
    assert dc_component_over_gap() == pytest.approx(7.0, rel=1e-6)
    # also through the adaptive pooling at another size: (0, 0) of the pooled map is still sqrt(49) x GAP
    # when H, W are multiples of 7 (adaptive pooling then averages equal blocks)
    fca = create("fcanet", channels=16, freq_sel="top1")
    x = torch.rand(2, 16, 21, 14)
    assert torch.allclose(fca.compress(x), 7 * x.mean(dim=(2, 3)), atol=1e-5)


def test_one_lowest_frequency_is_se_without_biases():
    # freq_sel="top1" keeps only (0, 0): the squeeze is GAP up to sqrt(HW), i.e. SE with a rescaled W1.
    torch.manual_seed(0)
    fca = create("fcanet", channels=32, freq_sel="top1", reduction=4)
    x = torch.randn(2, 32, 7, 7)
    z = x.mean(dim=(2, 3)) * 7
    s = torch.sigmoid(fca.fc2(torch.relu(fca.fc1(z))))
    with torch.no_grad():
        assert torch.allclose(fca(x), x * s[:, :, None, None], atol=1e-6)


def test_dct_basis_is_orthonormal_and_grouped_by_frequency():
    fca = create("fcanet", channels=64, freq_sel="low16")
    w = fca.dct_weight  # (64, 7, 7), 4 channels per frequency
    per_freq = w[::4].flatten(1).double()
    assert torch.allclose(per_freq @ per_freq.T, torch.eye(16, dtype=torch.float64), atol=1e-6)
    assert torch.equal(w[0], w[3]) and not torch.equal(w[3], w[4])
    # B_{u,v}(i, j) = c_u c_v cos(pi u (i + 1/2) / 7) cos(pi v (j + 1/2) / 7) for group 3 = (1, 1)
    i = torch.arange(7.0)
    b = (2 / 7) * torch.cos(math.pi * (i + 0.5) / 7)[:, None] * torch.cos(math.pi * (i + 0.5) / 7)[None, :]
    assert fca.freqs[3] == (1, 1) and torch.allclose(w[12], b, atol=1e-6)


def test_frequencies_scale_with_the_dct_size():
    # The authors' rule: (u, v) of the 7 x 7 space is (u * H / 7, v * W / 7) in an H x W DCT.
    fca = create("fcanet", channels=32, dct_size=14, freq_sel="top16")
    assert fca.freqs[:3] == [(0, 0), (0, 2), (12, 0)]
    assert tuple(fca.dct_weight.shape) == (32, 14, 14)


def test_dct_basis_is_a_buffer_and_params_equal_se_weights():
    fca = create("fcanet", channels=256)
    assert "dct_weight" in dict(fca.named_buffers()) and "dct_weight" not in dict(fca.named_parameters())
    assert count(fca) == 2 * 256 * 256 // 16
    se = create("seblock", channels=256)
    assert count(fca) == se.fc1.weight.numel() + se.fc2.weight.numel()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="multiple of the number of frequencies"):
        create("fcanet", channels=40)
    with pytest.raises(ValueError, match="multiples of 7"):
        create("fcanet", channels=64, dct_size=8)
    with pytest.raises(ValueError, match="freq_sel"):
        create("fcanet", channels=64, freq_sel="top3")
    with pytest.raises(ValueError, match="shape"):
        create("fcanet", channels=64)(torch.randn(1, 32, 7, 7))


def test_resnet50_extra_params_equal_se_weights():
    _needs("resnet50")
    stages = [(3, 256), (4, 512), (6, 1024), (3, 2048)]
    assert fca_resnet50_extra_params() == sum(2 * n * c * c // 16 for n, c in stages) == 2_514_944


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="fcanet", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
