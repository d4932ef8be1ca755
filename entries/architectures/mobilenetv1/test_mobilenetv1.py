"""What is special about MobileNetV1 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module

TABLE1 = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]


def _macs(m: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        m(x)
    return counter.get_total_flops() // 2


def separable_cost_ratio_512() -> float:
    """Eq. 5 / Eq. 2 measured: MACs of a depthwise separable layer over a standard 3x3 conv, 512 -> 512 at 14x14."""
    mod = module("mobilenetv1")
    with torch.device("meta"):
        sep = mod.DepthwiseSeparable(512, 512)
        full = nn.Conv2d(512, 512, 3, padding=1, bias=False)
        x = torch.randn(1, 512, 14, 14)
    return _macs(sep, x) / _macs(full, x)


def test_table1_layout_at_224():
    # Table 1: stem conv/s2 to 32, 13 depthwise separable layers, the map shrinks 112 -> 7, 1024 channels.
    with torch.device("meta"):
        model = create("mobilenet_v1")
        x = torch.randn(1, 3, 224, 224)
    layers = list(model.features)[1:]
    assert [(b.stride, b.pw[0].out_channels) for b in layers] == TABLE1
    for b in layers:  # Fig. 3: 3x3 depthwise (one filter per channel, Eq. 3), then 1x1 pointwise, each BN + ReLU
        dw, pw = b.dw[0], b.pw[0]
        assert dw.groups == dw.in_channels == dw.out_channels and dw.kernel_size == (3, 3)
        assert pw.kernel_size == (1, 1) and pw.groups == 1
        assert isinstance(b.dw[1], nn.BatchNorm2d) and isinstance(b.dw[2], nn.ReLU)
        assert isinstance(b.pw[1], nn.BatchNorm2d) and isinstance(b.pw[2], nn.ReLU)
    assert model.forward_features(x).shape == (1, 1024, 7, 7)
    # 28 layers when depthwise and pointwise convolutions count separately (Sec. 3.2), plus the FC.
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 27 and isinstance(model.classifier[-1], nn.Linear)


def test_pointwise_convs_dominate_the_cost():
    # Table 2: 1x1 convolutions take 94.86 % of the mult-adds and 74.59 % of the parameters.
    with torch.device("meta"):
        model = create("mobilenet_v1")
        x = torch.randn(1, 3, 224, 224)
    total = _macs(model, x)
    macs_1x1 = 0
    hooks = []

    def hook(m, i, o):
        nonlocal macs_1x1
        macs_1x1 += m.in_channels * m.out_channels * o.shape[2] * o.shape[3]

    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1):
            hooks.append(m.register_forward_hook(hook))
    model(x)
    for h in hooks:
        h.remove()
    assert abs(macs_1x1 / total - 0.9486) < 0.001
    p_1x1 = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1))
    p_conv_fc = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert abs(p_1x1 / p_conv_fc - 0.7459) < 0.001


def test_width_multiplier_scales_cost_quadratically():
    # Sec. 3.3: the width multiplier reduces cost and parameters roughly by alpha^2.
    with torch.device("meta"):
        x = torch.randn(1, 3, 224, 224)
        full = _macs(create("mobilenet_v1"), x)
        half = _macs(create("mobilenet_v1_050"), x)
    assert abs(half / full - 0.25) < 0.02
    assert module("mobilenetv1").scale_channels(32, 0.25) == 8


def test_resolution_multiplier_scales_cost_with_pixels():
    # Sec. 3.4: the resolution multiplier rho reduces the cost by rho^2 and leaves the parameters unchanged.
    with torch.device("meta"):
        model = create("mobilenet_v1")
        a = _macs(model, torch.randn(1, 3, 224, 224))
        b = _macs(model, torch.randn(1, 3, 128, 128))  # rho = 128 / 224, every map size stays exact
    fc = 1024 * 1000
    assert abs((b - fc) / (a - fc) - (128 / 224) ** 2) < 1e-6
    assert sum(p.numel() for p in model.parameters()) == 4231976  # same weights at every resolution


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("mobilenet_v1_025", num_classes=4)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_any_input_size_and_channels():
    model = create("mobilenet_v1_050", num_classes=5, in_chans=1).eval()
    x = torch.randn(1, 1, 64, 96)
    assert model.forward_features(x).shape == (1, 512, 2, 3)
    assert model(x).shape == (1, 5)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="width_mult"):
        create("mobilenetv1", width_mult=0)
    with pytest.raises(ValueError, match="dropout"):
        create("mobilenetv1", dropout=2.0)
    with pytest.raises(ValueError, match="layers"):
        create("mobilenetv1", layers=[(3, 64)])
    with pytest.raises(ValueError, match="expected input"):
        create("mobilenetv1")(torch.randn(1, 1, 32, 32))
