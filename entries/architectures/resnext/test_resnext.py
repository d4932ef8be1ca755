"""What is special about ResNeXt (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, get

VARIANTS = {  # torchvision: (layers, cardinality C, width d)
    "resnext50_32x4d": ([3, 4, 6, 3], 32, 4),
    "resnext101_32x8d": ([3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": ([3, 4, 23, 3], 64, 4),
}


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def block_weights_32x4d() -> int:
    """Eq. 4: the convolution weights of a conv2 (256-d in/out) 32x4d block, counted from the built module."""
    with torch.device("meta"):  # counting only: no memory, no initialisation
        model = create("resnext50_32x4d")
    block = model.layer1[1]  # identity-shortcut block of conv2: 256 -> 128 (C d) -> 256
    return sum(m.weight.numel() for m in (block.conv1, block.conv2, block.conv3))


def torchvision_layout(variant: str, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of torchvision's ResNet-with-groups state_dict, written out from its module structure.

    torchvision's Bottleneck: width = int(planes * width_per_group / 64) * groups; conv1 1x1 (width, c_in),
    conv2 3x3 grouped (width, width / groups), conv3 1x1 (4 planes, width); downsample.0/.1 where the shape
    changes; every BatchNorm2d holds weight, bias, running_mean, running_var, num_batches_tracked.
    """
    layers, groups, wpg = VARIANTS[variant]

    def conv(name, c_out, c_in, k):
        return [(f"{name}.weight", (c_out, c_in, k, k))]

    def bn(name, c):
        return [(f"{name}.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")] + \
               [(f"{name}.num_batches_tracked", ())]

    keys = conv("conv1", 64, 3, 7) + bn("bn1", 64)
    c_in = 64
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        width, c_out = int(planes * wpg / 64) * groups, planes * 4
        for i in range(n):
            p = f"layer{stage}.{i}"
            keys += conv(f"{p}.conv1", width, c_in, 1) + bn(f"{p}.bn1", width)
            keys += conv(f"{p}.conv2", width, width // groups, 3) + bn(f"{p}.bn2", width)
            keys += conv(f"{p}.conv3", c_out, width, 1) + bn(f"{p}.bn3", c_out)
            if i == 0:
                keys += conv(f"{p}.downsample.0", c_out, c_in, 1) + bn(f"{p}.downsample.1", c_out)
            c_in = c_out
    return keys + [("fc.weight", (num_classes, c_in)), ("fc.bias", (num_classes,))]


def test_state_dict_is_torchvision_layout():
    for variant in VARIANTS:
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == torchvision_layout(variant)


def test_torchvision_checkpoint_loads_strict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: (torch.tensor(3) if k.endswith("num_batches_tracked") else torch.randn(s, generator=gen))
            for k, s in torchvision_layout("resnext50_32x4d", num_classes=10)}
    torch.save(ckpt, tmp_path / "rx.pth")
    with torch.device("meta"):
        model = create("resnext50_32x4d", num_classes=10)
    model = model.to_empty(device="cpu")
    model.load_state_dict(torch.load(tmp_path / "rx.pth", weights_only=True), strict=True)
    assert torch.equal(model.layer3[2].conv2.weight, ckpt["layer3.2.conv2.weight"])


def test_table1_widths_double_per_stage_and_groups_are_c():
    # Table 1 (32x4d): grouped conv widths 128, 256, 512, 1024 with C = 32 in every stage.
    with torch.device("meta"):
        model = create("resnext50_32x4d")
    for stage, width in zip((model.layer1, model.layer2, model.layer3, model.layer4), (128, 256, 512, 1024)):
        for block in stage:
            assert block.conv2.groups == 32 and block.conv2.out_channels == width
            assert block.conv2.weight.shape[1] == width // 32  # each path sees d = width / C channels


def test_grouped_conv_equals_sum_of_c_separate_paths():
    # Fig. 3 (a) == (c): the grouped 3x3 followed by the 1x1 restore equals the sum over C paths of
    # (3x3 on the i-th slice of d channels -> 1x1 from those d channels), the aggregation of Eq. 3.
    torch.manual_seed(0)
    c, d, out = 4, 3, 8
    grouped = nn.Conv2d(c * d, c * d, 3, padding=1, groups=c, bias=False)
    restore = nn.Conv2d(c * d, out, 1, bias=False)
    x = torch.randn(2, c * d, 5, 5)
    y = restore(grouped(x))
    paths = []
    for i in range(c):
        sl = slice(i * d, (i + 1) * d)
        t = nn.functional.conv2d(x[:, sl], grouped.weight[sl], padding=1)  # T_i's 3x3
        paths.append(nn.functional.conv2d(t, restore.weight[:, sl]))  # T_i's share of the 1x1
    torch.testing.assert_close(y, torch.stack(paths).sum(0), rtol=1e-5, atol=1e-5)


def test_same_complexity_as_resnet50():
    # Sec. 3.3 / Table 1: ResNeXt-50 32x4d keeps ResNet-50's complexity; with C = 1 and d = 64 the
    # template *is* ResNet-50 (25,557,032 parameters, torchvision).
    with torch.device("meta"):
        assert count(create("resnext", cardinality=1, base_width=64)) == 25_557_032
        assert abs(count(create("resnext50_32x4d")) / 25_557_032 - 1) < 0.03
    assert block_weights_32x4d() == 32 * (256 * 4 + 3 * 3 * 4 * 4 + 4 * 256)


def test_attention_slot():
    seen = []

    def recording(channels: int) -> nn.Module:
        seen.append(channels)
        return nn.Identity()

    with torch.device("meta"):
        model = create("resnext50_32x4d", attn_layer=recording)
    assert seen == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    assert not any("attn" in k for k in model.state_dict())
    with torch.device("meta"):
        se = create("resnext50_32x4d", attention="seblock", num_classes=4)
    assert sum(1 for m in se.modules() if type(m) is get("seblock")) == 16


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("resnext", layers=[1, 1, 1, 1], cardinality=4, base_width=2, num_classes=4)
    x, y = torch.randn(8, 3, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="layers"):
        create("resnext", layers=[3, 4, 6])
    with pytest.raises(ValueError, match="cardinality"):
        create("resnext", cardinality=0)
    with pytest.raises(ValueError, match="expected input"):
        create("resnext", layers=[1, 1, 1, 1])(torch.randn(1, 1, 32, 32))
