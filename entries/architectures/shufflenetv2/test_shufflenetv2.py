"""What is special about ShuffleNet V2 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

WIDTHS = {"shufflenet_v2_x0_5": (24, 48, 96, 192, 1024), "shufflenet_v2_x1_0": (24, 116, 232, 464, 1024),
          "shufflenet_v2_x1_5": (24, 176, 352, 704, 1024), "shufflenet_v2_x2_0": (24, 244, 488, 976, 2048)}


def transformed_fraction_x1_0() -> float:
    """Fraction of a basic unit's input channels that enter the convolution branch (the rest pass through)."""
    with torch.device("meta"):
        model = create("shufflenet_v2_x1_0")
    first, unit = model.stage3[0], model.stage3[1]
    width = first.branch1[2].out_channels + first.branch2[-3].out_channels  # the unit's input channels (232)
    return unit.branch2[0].in_channels / width


def test_table5_layout_at_224():
    for variant, chans in WIDTHS.items():
        with torch.device("meta"):
            model = create(variant)
            x = torch.randn(1, 3, 224, 224)
        assert model.conv1[0].out_channels == chans[0] and model.conv5[0].out_channels == chans[4]
        for stage, n, c in zip((model.stage2, model.stage3, model.stage4), (4, 8, 4), chans[1:4]):
            assert len(stage) == n and [u.stride for u in stage] == [2] + [1] * (n - 1)  # Table 5: repeat, stride
            assert stage[0].branch1[2].out_channels + stage[0].branch2[-3].out_channels == c
        assert model.forward_features(x).shape == (1, chans[4], 7, 7)


def test_basic_unit_splits_keeps_half_and_shuffles():
    # Fig. 3 (c): out = shuffle(concat(x1, branch(x2))); half the channels pass unchanged.
    torch.manual_seed(0)
    unit = create("shufflenet_v2_x0_5").stage2[1].eval()
    x = torch.randn(2, 48, 6, 6)
    with torch.no_grad():
        out = unit(x)
        x1, x2 = x.chunk(2, dim=1)
        assert torch.equal(out[:, 0::2], x1)  # after a 2-group shuffle the identity half sits at even channels
        assert torch.allclose(out[:, 1::2], unit.branch2(x2))
    # G1: equal input / output widths of the 1x1 convolutions of the branch.
    assert unit.branch2[0].in_channels == unit.branch2[0].out_channels == unit.branch2[5].out_channels == 24


def test_downsampling_unit_doubles_channels():
    # Fig. 3 (d): no split, both branches see all channels, stride 2, output width doubles (within a stage).
    torch.manual_seed(0)
    unit = module("shufflenetv2").InvertedResidual(48, 96, 2).eval()
    x = torch.randn(1, 48, 8, 8)
    assert unit(x).shape == (1, 96, 4, 4)
    assert unit.branch1[0].groups == 48 and unit.branch2[3].groups == 48


def test_channel_shuffle_is_a_permutation():
    shuffle = module("shufflenetv2").channel_shuffle
    x = torch.arange(12.0).view(1, 12, 1, 1)
    assert shuffle(x, 2).flatten().tolist() == [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]
    assert torch.equal(shuffle(shuffle(x, 2), 6), x)  # shuffling with g then C/g undoes it


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        state = create("shufflenet_v2_x1_0").state_dict()
    assert len(state) == 338
    assert tuple(state["conv1.0.weight"].shape) == (24, 3, 3, 3)
    assert tuple(state["stage2.0.branch1.0.weight"].shape) == (24, 1, 3, 3)
    assert tuple(state["stage2.0.branch1.2.weight"].shape) == (58, 24, 1, 1)
    assert tuple(state["stage2.0.branch2.0.weight"].shape) == (58, 24, 1, 1)
    assert tuple(state["stage2.1.branch2.0.weight"].shape) == (58, 58, 1, 1)
    assert "stage2.1.branch1.0.weight" not in state
    assert tuple(state["conv5.0.weight"].shape) == (1024, 464, 1, 1)
    assert tuple(state["fc.weight"].shape) == (1000, 1024)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("shufflenet_v2_x0_5", num_classes=4)
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
    with pytest.raises(ValueError, match="width"):
        create("shufflenetv2", width=0.75)
    with pytest.raises(ValueError, match="stages_repeats"):
        create("shufflenetv2", stages_repeats=[4, 8])
    with pytest.raises(ValueError, match="stride-1 unit"):
        module("shufflenetv2").InvertedResidual(48, 96, 1)
    with pytest.raises(ValueError, match="expected input"):
        create("shufflenetv2")(torch.randn(1, 1, 32, 32))
