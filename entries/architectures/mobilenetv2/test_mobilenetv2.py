"""What is special about MobileNetV2 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

TABLE2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _tfslim_params(variant: str) -> int:
    """Parameters as the authors' TF-slim graph counts them: 1001 classes, no BatchNorm parameters."""
    with torch.device("meta"):
        model = create(variant, num_classes=1001)
    bn = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    return sum(p.numel() for p in model.parameters()) - bn


def tfslim_params_100() -> int:
    return _tfslim_params("mobilenet_v2")


def tfslim_params_140() -> int:
    return _tfslim_params("mobilenet_v2_140")


def blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.features if type(m).__name__ == "InvertedResidual"]


def test_table2_layout_at_224():
    # Table 2: 17 bottleneck blocks; the first of each sequence has stride s; output sizes 112 -> 7.
    with torch.device("meta"):
        model = create("mobilenet_v2")
        x = torch.randn(1, 3, 224, 224)
    bs = blocks(model)
    assert len(bs) == sum(n for _, _, n, _ in TABLE2) == 17
    expected = [(t, c, s if i == 0 else 1) for t, c, n, s in TABLE2 for i in range(n)]
    assert [(b.expand_ratio, b.out_channels, b.stride) for b in bs] == expected
    shapes = []
    hooks = [b.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for b in bs]
    model(x)
    for h in hooks:
        h.remove()
    sizes = [112] + [56] * 2 + [28] * 3 + [14] * 4 + [14] * 3 + [7] * 3 + [7]  # Table 2 input column, shifted
    assert shapes == [(c, s, s) for (_, c, _), s in zip(expected, sizes)]
    assert model.forward_features(x).shape == (1, 1280, 7, 7)


def test_linear_bottleneck_and_shortcuts():
    # Sec. 3.2: no nonlinearity after the projection; Sec. 3.3 / Fig. 4(d): shortcut only for stride 1, k == k'.
    with torch.device("meta"):
        model = create("mobilenet_v2")
    bs = blocks(model)
    for b in bs:
        assert isinstance(b.conv[-1], nn.BatchNorm2d) and isinstance(b.conv[-2], nn.Conv2d)
        assert b.conv[-2].kernel_size == (1, 1)
        dw = b.conv[-3][0]
        assert dw.groups == dw.in_channels == dw.out_channels and dw.kernel_size == (3, 3)  # depthwise
        acts = [m for m in b.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
        assert all(isinstance(a, nn.ReLU6) for a in acts) and len(acts) == (1 if b.expand_ratio == 1 else 2)
    assert sum(b.use_res_connect for b in bs) == 10  # n - 1 per sequence: 0+1+2+3+2+2+0


def test_residual_is_added_between_bottlenecks():
    torch.manual_seed(0)
    block = create("mobilenet_v2").features[3].eval()  # second block of the 24-channel sequence
    assert block.use_res_connect
    x = torch.randn(2, 24, 8, 8)
    assert torch.allclose(block(x), x + block.conv(x))


def test_width_multiplier_rounding_matches_tfslim():
    # TF-slim _make_divisible: multiples of 8, never below 90 % of the scaled width; last conv stays 1280 below 1.
    make_divisible = module("mobilenetv2").make_divisible
    assert [make_divisible(c * 1.4) for c in (32, 16, 24, 32, 64, 96, 160, 320, 1280)] == \
           [48, 24, 32, 48, 88, 136, 224, 448, 1792]
    assert [make_divisible(c * 0.35) for c in (32, 16, 24, 32, 64, 96, 160, 320)] == [16, 8, 8, 16, 24, 32, 56, 112]
    with torch.device("meta"):
        assert create("mobilenet_v2_035").last_channel == 1280
        assert create("mobilenet_v2_140").last_channel == 1792


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        state = create("mobilenet_v2").state_dict()
    # torchvision: 52 convolutions + 52 BN (x5 entries) + classifier weight and bias = 314 entries.
    assert len(state) == 314
    assert tuple(state["features.0.0.weight"].shape) == (32, 3, 3, 3)
    assert tuple(state["features.1.conv.0.0.weight"].shape) == (32, 1, 3, 3)  # t = 1: no expansion conv
    assert tuple(state["features.1.conv.1.weight"].shape) == (16, 32, 1, 1)
    assert tuple(state["features.2.conv.0.0.weight"].shape) == (96, 16, 1, 1)
    assert tuple(state["features.2.conv.1.0.weight"].shape) == (96, 1, 3, 3)
    assert tuple(state["features.2.conv.3.running_var"].shape) == (24,)
    assert tuple(state["features.18.0.weight"].shape) == (1280, 320, 1, 1)
    assert tuple(state["classifier.1.weight"].shape) == (1000, 1280)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("mobilenet_v2_050", num_classes=4, dropout=0.0)
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
    torch.manual_seed(0)
    model = create("mobilenet_v2", num_classes=5, in_chans=1).eval()
    x = torch.randn(1, 1, 64, 80)
    assert model.forward_features(x).shape == (1, 1280, 2, 3)
    assert model(x).shape == (1, 5)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="width_mult"):
        create("mobilenetv2", width_mult=0)
    with pytest.raises(ValueError, match="dropout"):
        create("mobilenetv2", dropout=1.5)
    with pytest.raises(ValueError, match="inverted_residual_setting"):
        create("mobilenetv2", inverted_residual_setting=[(1, 16, 1)])
    with pytest.raises(ValueError, match="expected input"):
        create("mobilenetv2")(torch.randn(1, 1, 32, 32))
