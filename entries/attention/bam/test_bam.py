"""What is special about BAM (the generic suite covers shapes, gradients and claims)."""

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


def _trained_stats(bam: nn.Module) -> nn.Module:
    """Give the BatchNorms non-trivial running statistics and affine weights, then switch to eval."""
    torch.manual_seed(1)
    for m in bam.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_()
    return bam.eval()


def attention_is_sum_of_channel_and_spatial() -> bool:
    """Eq. 2: logit(M(F)) = M_c(F) + M_s(F) exactly, and Eq. 1: the output is F + F * M(F)."""
    torch.manual_seed(0)
    bam = _trained_stats(create("bam", channels=32, reduction=4))
    x = torch.randn(2, 32, 9, 11, dtype=torch.float64)
    bam = bam.double()
    with torch.no_grad():
        m = bam.attention(x)
        y = bam(x)
    logit = torch.logit(m)  # (N, C, H, W)
    # A sum a_c + b_hw has zero residual after removing the channel means and the spatial means.
    resid = logit - logit.mean(dim=1, keepdim=True) - logit.mean(dim=(2, 3), keepdim=True) \
        + logit.mean(dim=(1, 2, 3), keepdim=True)
    separable = float(resid.abs().max()) < 1e-9
    varies_both = bool(logit.std(dim=1).min() > 1e-3) and bool(logit.std(dim=(2, 3)).min() > 1e-3)
    residual = torch.allclose(y, x + x * m, atol=1e-12)
    return separable and varies_both and residual


def test_attention_is_a_sum_not_a_product():
    assert attention_is_sum_of_channel_and_spatial()
    # The authors' released bam.py multiplies the two branches instead; that map is not additive.
    torch.manual_seed(0)
    bam = _trained_stats(create("bam", channels=16, reduction=4)).double()
    x = torch.randn(1, 16, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        prod = bam.channel_attention(x) * bam.spatial_attention(x)
    resid = prod - prod.mean(1, keepdim=True) - prod.mean((2, 3), keepdim=True) + prod.mean((1, 2, 3), keepdim=True)
    assert float(resid.abs().max()) > 1e-3


def test_defaults_follow_section_4_1():
    bam = create("bam", channels=256)
    assert bam.fc1.out_features == 256 // 16  # r = 16
    dilated = [m for m in bam.spatial if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(dilated) == 2 and all(m.dilation == (4, 4) and m.padding == (4, 4) for m in dilated)  # d = 4
    assert bam.spatial[-2].out_channels == 1  # f3 gives one map


def test_residual_form_gains_lie_in_one_to_two():
    # Eq. 1: F' = F (1 + M(F)) with M in (0, 1): every feature is kept and scaled by a factor in (1, 2).
    torch.manual_seed(0)
    bam = _trained_stats(create("bam", channels=16, reduction=4))
    x = torch.rand(2, 16, 6, 6) + 0.5
    with torch.no_grad():
        gain = bam(x) / x
    assert bool(((gain > 1) & (gain < 2)).all())


def test_spatial_receptive_field_grows_with_dilation():
    # Two 3x3 convolutions with dilation 4: a pixel reaches at most 2 * 4 = 8 pixels away.
    torch.manual_seed(0)
    bam = _trained_stats(create("bam", channels=16, reduction=2))
    f = torch.randn(1, 16, 24, 24)
    g = f.clone()
    g[0, :, 12, 12] += 5.0 * torch.randn(16)
    with torch.no_grad():
        changed = (bam.spatial_attention(f) - bam.spatial_attention(g)).abs()[0, 0] > 0
    rows, cols = changed.nonzero(as_tuple=True)
    assert int((rows - 12).abs().max()) == 8 and int((cols - 12).abs().max()) == 8


def test_params_follow_the_formula():
    def formula(c: int, r: int = 16) -> int:
        h = c // r
        channel = (c * h + h) + (h * c + c) + 2 * c
        spatial = (c * h + h) + 2 * h + 2 * (9 * h * h + h + 2 * h) + (h + 1) + 2
        return channel + spatial

    for c in (64, 256, 1024):
        assert count(create("bam", channels=c)) == formula(c)
    assert formula(256) == 17843


def test_stage_placement_resnet50_count():
    # Sec. 3: the paper puts one BAM at each of the three bottlenecks of ResNet-50 (after the stages of 256,
    # 512 and 1024 channels), not in every block. Those three modules add about 0.36M parameters, which gives
    # the 25.92M that PytorchInsight's README lists for BAM-ResNet50.
    _needs("resnet50")
    extra = sum(count(create("bam", channels=c)) for c in (256, 512, 1024))
    total = count(create("resnet50")) + extra
    assert abs(total - 25.92e6) / 25.92e6 < 2e-4


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        create("bam", channels=64, reduction=0)
    with pytest.raises(ValueError, match="dilation"):
        create("bam", channels=64, dilation=0)
    with pytest.raises(ValueError, match="shape"):
        create("bam", channels=64).eval()(torch.randn(1, 32, 8, 8))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="bam", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
