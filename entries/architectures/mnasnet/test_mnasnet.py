"""What is special about MnasNet-B1 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

# MnasNet-B1 stages after the SepConv (timm's mnasnet_b1 arch_def, torchvision): (kernel, stride, t, repeats, out)
STAGES = [(3, 2, 3, 3, 24), (5, 2, 3, 3, 40), (5, 2, 6, 3, 80), (3, 1, 6, 2, 96), (5, 2, 6, 4, 192), (3, 1, 6, 1, 320)]


def test_b1_layout_at_224():
    with torch.device("meta"):
        model = create("mnasnet1_0")
        x = torch.randn(1, 3, 224, 224)
    stem, sep_dw, sep_pw = model.layers[0], model.layers[3], model.layers[6]
    assert stem.out_channels == 32 and stem.stride == (2, 2)
    assert sep_dw.groups == 32 and sep_pw.out_channels == 16  # SepConv 3x3 -> 16, no ReLU after the 1x1
    assert isinstance(model.layers[7], nn.BatchNorm2d) and isinstance(model.layers[8], nn.Sequential)
    for stage, (k, s, t, n, out) in zip(model.layers[8:14], STAGES):
        assert len(stage) == n
        assert [(b.kernel_size, b.stride, b.expansion) for b in stage] == [(k, s, t)] + [(k, 1, t)] * (n - 1)
        assert stage[-1].layers[6].out_channels == out
        assert [b.apply_residual for b in stage] == [False] + [True] * (n - 1)
    assert model.forward_features(x).shape == (1, 1280, 7, 7)


def test_no_squeeze_excitation_in_b1():
    # B1 is the variant without SE: every block is conv/BN/ReLU only.
    with torch.device("meta"):
        model = create("mnasnet1_0")
    kinds = {type(m) for m in model.modules()} - {type(model), nn.Sequential, module("mnasnet").MBConv}
    assert kinds == {nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Dropout, nn.Linear}


def test_depth_multiplier_rounding():
    depths = module("mnasnet").scaled_depths
    assert depths(1.0) == [32, 16, 24, 40, 80, 96, 192, 320]
    assert depths(0.5) == [16, 8, 16, 24, 40, 48, 96, 160]
    assert depths(1.3) == [40, 24, 32, 56, 104, 128, 248, 416]
    with torch.device("meta"):
        assert create("mnasnet0_5").layers[-3].out_channels == 1280  # the head is not scaled


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        state = create("mnasnet1_0").state_dict()
    assert len(state) == 314
    assert tuple(state["layers.0.weight"].shape) == (32, 3, 3, 3)
    assert tuple(state["layers.3.weight"].shape) == (32, 1, 3, 3)
    assert tuple(state["layers.6.weight"].shape) == (16, 32, 1, 1)
    assert tuple(state["layers.8.0.layers.0.weight"].shape) == (48, 16, 1, 1)
    assert tuple(state["layers.8.0.layers.3.weight"].shape) == (48, 1, 3, 3)
    assert tuple(state["layers.12.3.layers.7.running_mean"].shape) == (192,)
    assert tuple(state["layers.14.weight"].shape) == (1280, 320, 1, 1)
    assert tuple(state["classifier.1.weight"].shape) == (1000, 1280)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("mnasnet0_5", num_classes=4, dropout=0.0)
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
    with pytest.raises(ValueError, match="alpha"):
        create("mnasnet", alpha=0)
    with pytest.raises(ValueError, match="kernel_size"):
        module("mnasnet").MBConv(16, 16, 7, 1, 3)
    with pytest.raises(ValueError, match="expected input"):
        create("mnasnet")(torch.randn(1, 1, 32, 32))
