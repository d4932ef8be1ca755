"""What is special about MobileNetV3 (the generic suite covers shapes, gradients, determinism and the claims)."""

import statistics

import pytest
import torch
from torch import nn

from encyclo import create, module

# Table 1 / Table 2 columns: (kernel, exp size, #out, SE, NL, s)
LARGE = [(3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
         (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
         (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
         (3, 184, 80, False, "HS", 1), (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1),
         (5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1), (5, 960, 160, True, "HS", 1)]
SMALL = [(3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
         (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
         (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1), (5, 288, 96, True, "HS", 2),
         (5, 576, 96, True, "HS", 1), (5, 576, 96, True, "HS", 1)]


def blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.features if type(m).__name__ == "InvertedResidual"]


def se_squeeze_fraction_large() -> float:
    """Median of (SE squeeze channels / expansion channels) over the SE blocks of MobileNetV3-Large."""
    with torch.device("meta"):
        model = create("mobilenet_v3_large")
    se = [m for m in model.modules() if type(m).__name__ == "SqueezeExcitation"]
    return statistics.median(m.fc1.out_channels / m.fc1.in_channels for m in se)


@pytest.mark.parametrize("variant,table,last,head", [("mobilenet_v3_large", LARGE, 960, 1280),
                                                     ("mobilenet_v3_small", SMALL, 576, 1024)])
def test_tables_1_and_2(variant, table, last, head):
    with torch.device("meta"):
        model = create(variant)
        x = torch.randn(1, 3, 224, 224)
    stem = model.features[0]
    assert stem[0].out_channels == 16 and stem[0].stride == (2, 2) and isinstance(stem[2], nn.Hardswish)
    bs = blocks(model)
    got = []
    for b in bs:
        dw = [m for m in b.block if isinstance(m, nn.Sequential) and m[0].groups > 1][0][0]
        got.append((dw.kernel_size[0], dw.out_channels, b.out_channels, b.use_se, b.act, dw.stride[0]))
        acts = {type(m) for m in b.modules() if isinstance(m, (nn.ReLU, nn.Hardswish))}
        assert (nn.Hardswish in acts) == (b.act == "HS")
    assert got == table
    assert model.forward_features(x).shape == (1, last, 7, 7)
    assert model.classifier[0].out_features == head and isinstance(model.classifier[1], nn.Hardswish)


def test_se_uses_hard_sigmoid_on_quarter_width():
    # Sec. 5.2-5.3 / Fig. 4: SE after the depthwise conv, hard-sigmoid gate, squeeze to 1/4 (multiple of 8).
    mod = module("mobilenetv3")
    se = mod.SqueezeExcitation(72)
    assert se.fc1.out_channels == 24 and isinstance(se.gate, nn.Hardsigmoid)
    x = torch.randn(2, 72, 5, 5)
    with torch.no_grad():
        s = se.gate(se.fc2(se.relu(se.fc1(x.mean((2, 3), keepdim=True)))))
        assert torch.allclose(se(x), x * s)
        assert s.min() >= 0 and s.max() <= 1


def test_h_swish_is_x_relu6_x_plus_3_over_6():
    # Sec. 5.2, Eq. 2: h-swish[x] = x ReLU6(x + 3) / 6.
    x = torch.linspace(-6, 6, 101)
    assert torch.allclose(nn.Hardswish()(x), x * nn.functional.relu6(x + 3) / 6)


def test_efficient_last_stage_pools_before_the_wide_layer():
    # Sec. 5.1 / Fig. 5: the 1280-wide layer acts on the pooled 1x1 features, so its cost is resolution-free.
    with torch.device("meta"):
        model = create("mobilenet_v3_large")
    assert isinstance(model.classifier[0], nn.Linear) and model.classifier[0].in_features == 960


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        large = create("mobilenet_v3_large").state_dict()
        small = create("mobilenet_v3_small").state_dict()
    assert len(large) == 312 and len(small) == 244
    assert tuple(large["features.0.0.weight"].shape) == (16, 3, 3, 3)
    assert tuple(large["features.1.block.0.0.weight"].shape) == (16, 1, 3, 3)  # no expansion in block 1
    assert tuple(large["features.4.block.2.fc1.weight"].shape) == (24, 72, 1, 1)
    assert tuple(large["features.4.block.2.fc2.bias"].shape) == (72,)
    assert tuple(large["features.16.0.weight"].shape) == (960, 160, 1, 1)
    assert tuple(large["classifier.0.weight"].shape) == (1280, 960)
    assert tuple(large["classifier.3.weight"].shape) == (1000, 1280)
    assert tuple(small["features.1.block.1.fc1.weight"].shape) == (8, 16, 1, 1)
    assert tuple(small["features.12.0.weight"].shape) == (576, 96, 1, 1)
    assert tuple(small["classifier.3.weight"].shape) == (1000, 1024)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("mobilenet_v3_small", num_classes=4, dropout=0.0)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="arch"):
        create("mobilenetv3", arch="medium")
    with pytest.raises(ValueError, match="width_mult"):
        create("mobilenetv3", width_mult=-1)
    with pytest.raises(ValueError, match="expected input"):
        create("mobilenetv3")(torch.randn(1, 1, 32, 32))
