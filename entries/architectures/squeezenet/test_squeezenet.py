"""What is special about SqueezeNet (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module

# Table 1: (s_1x1, e_1x1, e_3x3) of fire2 ... fire9.
TABLE1_FIRE = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128), (48, 192, 192), (48, 192, 192),
               (64, 256, 256), (64, 256, 256)]


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def macs(variant: str, size: int = 224) -> int:
    with torch.device("meta"):
        model = create(variant).eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(1, 3, size, size, device="meta"))
    return counter.get_total_flops() // 2


def computation_ratio_v10_v11() -> float:
    return macs("squeezenet1_0") / macs("squeezenet1_1")


def model_size_mib_v10() -> float:
    with torch.device("meta"):
        model = create("squeezenet1_0")
    return sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20  # float32: 4 bytes


def fewer_parameters_than_alexnet() -> float:
    with torch.device("meta"):
        return count(create("alexnet_paper")) / count(create("squeezenet1_0"))


def fires(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.features if type(m).__name__ == "Fire"]


def test_table1_fire_dimensions():
    for variant in ("squeezenet1_0", "squeezenet1_1"):
        with torch.device("meta"):
            model = create(variant)
        dims = [(f.squeeze.out_channels, f.expand1x1.out_channels, f.expand3x3.out_channels) for f in fires(model)]
        assert dims == TABLE1_FIRE
        for f in fires(model):  # Sec. 3.2 Strategy 2: s_1x1 < e_1x1 + e_3x3; squeeze ratio 1/8 throughout
            assert f.squeeze.kernel_size == (1, 1) and f.expand3x3.kernel_size == (3, 3)
            assert 8 * f.squeeze.out_channels == f.expand1x1.out_channels + f.expand3x3.out_channels
    with torch.device("meta"):
        v10, v11 = create("squeezenet1_0"), create("squeezenet1_1")
    assert v10.features[0].out_channels == 96 and v10.features[0].kernel_size == (7, 7)  # conv1 96 x 7x7/2
    assert v11.features[0].out_channels == 64 and v11.features[0].kernel_size == (3, 3)  # v1.1: 64 x 3x3


def test_late_downsampling_pool_positions():
    # Sec. 3.3 (Strategy 3): max pools after conv1, fire4, fire8 (v1.0); v1.1 README: after conv1, fire3, fire5.
    def after(model):
        names, i = [], 1
        for m in model.features:
            if isinstance(m, nn.Conv2d) or type(m).__name__ == "Fire":
                i += 1
            elif isinstance(m, nn.MaxPool2d):
                names.append(i - 1)
        return names
    with torch.device("meta"):
        assert after(create("squeezenet1_0")) == [1, 4, 8]
        assert after(create("squeezenet1_1")) == [1, 3, 5]


def test_fire_concatenates_expand_outputs():
    torch.manual_seed(0)
    fire = module("squeezenet").Fire(8, 2, 4, 6)
    x = torch.randn(2, 8, 5, 5)
    y = fire(x)
    s = torch.relu(fire.squeeze(x))
    torch.testing.assert_close(y, torch.cat([torch.relu(fire.expand1x1(s)), torch.relu(fire.expand3x3(s))], 1))
    assert y.shape == (2, 10, 5, 5)  # padding keeps both expand outputs at the input size (Sec. 3.3.1)


def test_no_fully_connected_layers():
    # Sec. 3.3: conv10 (1x1, one filter per class) and a global average pool replace the FC layers.
    with torch.device("meta"):
        model = create("squeezenet1_0")
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert isinstance(model.classifier[0], nn.Dropout) and model.classifier[0].p == 0.5  # after fire9
    assert model.classifier[1].kernel_size == (1, 1) and model.classifier[1].out_channels == 1000


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        sd = create("squeezenet1_1").state_dict()
    fire_idx = (3, 4, 6, 7, 9, 10, 11, 12)  # squeezenet1_1 (1_0: 3, 4, 5, 7, 8, 9, 10, 12)
    expected = {"features.0.weight", "features.0.bias", "classifier.1.weight", "classifier.1.bias"}
    expected |= {f"features.{i}.{c}.{p}" for i in fire_idx for c in ("squeeze", "expand1x1", "expand3x3")
                 for p in ("weight", "bias")}
    assert set(sd) == expected and len(sd) == 52
    assert tuple(sd["features.12.expand3x3.weight"].shape) == (256, 64, 3, 3)
    with torch.device("meta"):
        sd0 = create("squeezenet1_0").state_dict()
    assert tuple(sd0["features.0.weight"].shape) == (96, 3, 7, 7) and "features.12.squeeze.weight" in sd0


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("squeezenet1_1", num_classes=4, dropout=0.0)
    x, y = torch.randn(8, 3, 64, 64), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)  # the ReLU on conv10 dies at larger steps
    losses = []
    for _ in range(20):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_minimum_input_sizes():
    with torch.device("meta"):
        assert create("squeezenet1_0", num_classes=3)(torch.randn(1, 3, 21, 21)).shape == (1, 3)
        assert create("squeezenet1_1", num_classes=3)(torch.randn(1, 3, 17, 17)).shape == (1, 3)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="version"):
        create("squeezenet", version="1_2")
    with pytest.raises(ValueError, match="squeeze"):
        module("squeezenet").Fire(8, 16, 4, 4)
    with pytest.raises(ValueError, match="expected input"):
        create("squeezenet1_1")(torch.randn(1, 1, 32, 32))
