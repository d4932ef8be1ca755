"""What is special about VGG (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

# Table 1: 3x3 convolutions per group (five groups, each closed by a 2x2 max pool).
TABLE1 = {"vgg11": (1, 1, 2, 2, 2), "vgg13": (2, 2, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def groups(model: nn.Module) -> list[int]:
    """Convolutions between consecutive max pools."""
    counts, n = [], 0
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            n += 1
        elif isinstance(m, nn.MaxPool2d):
            counts.append(n)
            n = 0
    return counts


def test_table1_depths_and_widths():
    for variant, per_group in TABLE1.items():
        with torch.device("meta"):
            model = create(variant)
        assert tuple(groups(model)) == per_group
        convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
        linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
        assert len(convs) + len(linears) == int(variant[3:])  # weight layers: 11, 13, 16, 19
        widths = sorted({m.out_channels for m in convs})
        assert widths == [64, 128, 256, 512]
        assert all(m.kernel_size == (3, 3) and m.stride == (1, 1) and m.padding == (1, 1) for m in convs)
        assert [m.out_features for m in linears] == [4096, 4096, 1000]


def test_conv_stack_keeps_resolution_pools_halve_it():
    # Sec. 2.1: padding 1 preserves the resolution; five 2x2/2 pools give 7x7x512 at 224.
    with torch.device("meta"):
        model = create("vgg16")
        x = torch.randn(1, 3, 224, 224)
    assert model.forward_features(x).shape == (1, 512, 7, 7)
    assert model.avgpool(model.forward_features(x)).shape == (1, 512, 7, 7)  # identity at 224


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        plain, bn = create("vgg16").state_dict(), create("vgg16_bn").state_dict()
    # 13 convs + 3 linears, weight and bias each; with BN 13 x 5 more entries.
    assert len(plain) == 32 and len(bn) == 97
    convs = [k for k in plain if k.startswith("features") and k.endswith(".weight")]
    assert convs[:3] == ["features.0.weight", "features.2.weight", "features.5.weight"]
    assert [k for k in plain if k.startswith("classifier")] == [
        "classifier.0.weight", "classifier.0.bias", "classifier.3.weight", "classifier.3.bias",
        "classifier.6.weight", "classifier.6.bias"]
    assert tuple(plain["classifier.0.weight"].shape) == (4096, 25088)
    assert tuple(bn["features.1.running_var"].shape) == (64,) and "features.3.weight" in bn
    assert tuple(bn["features.40.weight"].shape) == (512, 512, 3, 3)  # last conv of vgg16_bn


def test_batch_norm_changes_no_compute_of_the_paper_layers():
    # *_bn only adds 2 parameters per channel: vgg16_bn - vgg16 = 2 * sum of conv widths = 8,448.
    with torch.device("meta"):
        a, b = create("vgg16"), create("vgg16_bn")
    count = lambda m: sum(p.numel() for p in m.parameters())
    widths = sum(m.out_channels for m in a.features if isinstance(m, nn.Conv2d))
    assert count(b) - count(a) == 2 * widths == 8448


def test_dropout_on_the_first_two_fc_layers():
    with torch.device("meta"):
        model = create("vgg11")
    drops = [i for i, m in enumerate(model.classifier) if isinstance(m, nn.Dropout)]
    assert drops == [2, 5] and all(model.classifier[i].p == 0.5 for i in drops)  # Sec. 3.1: ratio 0.5


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    # Configuration A's topology at 1/8 of the width (to stay fast on a CPU), with BN, at 32 x 32 (the
    # adaptive pool turns the 1x1 map into the 7x7 FC input) and narrow hidden FC layers.
    narrow_a = [c if c == "M" else c // 8 for c in module("vgg").CONFIGS["A"]]
    model = create("vgg", config=narrow_a, batch_norm=True, num_classes=4, dropout=0.0, hidden_features=64)
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


def test_any_input_size():
    with torch.device("meta"):
        model = create("vgg13", num_classes=3, in_chans=1)
        x = torch.randn(2, 1, 64, 96)
    assert model.forward_features(x).shape == (2, 512, 2, 3)
    assert model(x).shape == (2, 3)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="config"):
        create("vgg", config="C")
    with pytest.raises(ValueError, match="dropout"):
        create("vgg", config=[8, "M"], hidden_features=8, dropout=-0.1)
    with pytest.raises(ValueError, match="hidden_features"):
        create("vgg", config=[8, "M"], hidden_features=0)
    with pytest.raises(ValueError, match="expected input"):
        create("vgg", config=[8, "M"], hidden_features=8, num_classes=2)(torch.randn(1, 1, 32, 32))
