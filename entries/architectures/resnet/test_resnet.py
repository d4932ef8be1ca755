"""What is special about ResNet (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

TABLE1 = {  # Table 1: block type and blocks per stage
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def macs(model: nn.Module, shape: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-accumulates of one forward pass (FlopCounterMode counts 2 FLOPs per MAC)."""
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(shape, device="meta"))
    return counter.get_total_flops() // 2


def torchvision_layout(variant: str, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...]]]:
    """The (key, shape) list of torchvision's resnet state_dict, written out from its module structure.

    Derived independently of resnet.py: torchvision registers conv1, bn1, layer1..layer4 (blocks with
    conv1/bn1/conv2/bn2[/conv3/bn3] and, in the first block of a stage whose shape changes,
    downsample.0 = 1x1 conv and downsample.1 = BN), then fc; every BatchNorm2d holds weight, bias,
    running_mean, running_var and num_batches_tracked (a 0-d tensor).
    """
    block, layers = TABLE1[variant]

    def conv(name, c_out, c_in, k):
        return [(f"{name}.weight", (c_out, c_in, k, k))]

    def bn(name, c):
        return [(f"{name}.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")] + \
               [(f"{name}.num_batches_tracked", ())]

    keys = conv("conv1", 64, 3, 7) + bn("bn1", 64)
    expansion = 4 if block == "bottleneck" else 1
    c_in = 64
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        c_out = planes * expansion
        for i in range(n):
            p = f"layer{stage}.{i}"
            if block == "basic":
                keys += conv(f"{p}.conv1", planes, c_in, 3) + bn(f"{p}.bn1", planes)
                keys += conv(f"{p}.conv2", planes, planes, 3) + bn(f"{p}.bn2", planes)
            else:
                keys += conv(f"{p}.conv1", planes, c_in, 1) + bn(f"{p}.bn1", planes)
                keys += conv(f"{p}.conv2", planes, planes, 3) + bn(f"{p}.bn2", planes)
                keys += conv(f"{p}.conv3", c_out, planes, 1) + bn(f"{p}.bn3", c_out)
            if i == 0 and (stage > 1 or c_in != c_out):
                keys += conv(f"{p}.downsample.0", c_out, c_in, 1) + bn(f"{p}.downsample.1", c_out)
            c_in = c_out
    return keys + [("fc.weight", (num_classes, c_in)), ("fc.bias", (num_classes,))]


def test_state_dict_is_torchvision_layout():
    # ResNet-50: conv1 + bn1 (1 + 5) + 16 bottlenecks x (3 convs + 3 BNs x 5) + 4 projections x (1 + 5) + fc (2)
    # = 6 + 288 + 24 + 2 = 320 keys; ResNet-18: 6 + 8 x 12 + 3 x 6 + 2 = 122.
    for variant, n_keys in (("resnet18", 122), ("resnet50", 320)):
        expected = torchvision_layout(variant)
        assert len(expected) == n_keys
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == expected


def test_torchvision_checkpoint_loads_strict(tmp_path):
    # A checkpoint written in torchvision's layout (random values) loads with strict=True, also through
    # torch.load(weights_only=True), and every tensor lands where its name says.
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: (torch.tensor(7) if k.endswith("num_batches_tracked") else torch.randn(shape, generator=gen))
            for k, shape in torchvision_layout("resnet18", num_classes=10)}
    path = tmp_path / "resnet18_tv.pth"
    torch.save(ckpt, path)
    model = create("resnet18", num_classes=10)
    result = model.load_state_dict(torch.load(path, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.layer2[0].downsample[0].weight, ckpt["layer2.0.downsample.0.weight"])
    assert torch.equal(model.layer4[1].bn2.running_var, ckpt["layer4.1.bn2.running_var"])
    # With an attention block in the slot, the same checkpoint misses exactly the attention parameters.
    se = create("resnet18", num_classes=10, attention="seblock")
    result = se.load_state_dict(ckpt, strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(".attn." in k for k in result.missing_keys)


def test_table1_stage_shapes():
    # Table 1 "output size" column at 224 x 224: conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7.
    for variant, channels in (("resnet34", (64, 128, 256, 512)), ("resnet152", (256, 512, 1024, 2048))):
        with torch.device("meta"):
            model = create(variant)
            x = torch.randn(1, 3, 224, 224)
        shapes = []
        hooks = [getattr(model, f"layer{i}").register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
                 for i in range(1, 5)]
        model(x)
        for h in hooks:
            h.remove()
        assert shapes == [(1, c, s, s) for c, s in zip(channels, (56, 28, 14, 7))]


def test_projection_shortcuts_only_where_the_shape_changes():
    # Option B (Sec. 3.3, Table 3): projections for increasing dimensions only, identities elsewhere.
    for variant, n_proj in (("resnet34", 3), ("resnet101", 4)):  # bottleneck stage 1 also goes 64 -> 256
        with torch.device("meta"):
            model = create(variant)
        blocks = [b for stage in (model.layer1, model.layer2, model.layer3, model.layer4) for b in stage]
        assert sum(b.downsample is not None for b in blocks) == n_proj
        assert len(blocks) == sum(TABLE1[variant][1])


def test_v1_and_v15_stride_placement():
    with torch.device("meta"):
        v15, v1 = create("resnet50"), create("resnet50", stride_in_1x1=True)
    for stage in (v15.layer2, v15.layer3, v15.layer4):
        assert stage[0].conv1.stride == (1, 1) and stage[0].conv2.stride == (2, 2)
    for stage in (v1.layer2, v1.layer3, v1.layer4):  # authors' prototxt: res3a_branch2a has stride 2
        assert stage[0].conv1.stride == (2, 2) and stage[0].conv2.stride == (1, 1)
    assert count(v1) == count(v15)
    # The 3x3 conv costs the same either way (cost follows its output size); v1.5 only runs the first 1x1
    # at the input resolution: sum over stages 2-4 of C_in * planes * (H_in W_in - H_out W_out).
    extra = sum(c_in * planes * (s * s - (s // 2) ** 2) for c_in, planes, s in ((256, 128, 56), (512, 256, 28),
                                                                                  (1024, 512, 14)))
    assert extra == 231_211_008
    assert macs(v15) - macs(v1) == extra
    x = torch.randn(1, 3, 224, 224, device="meta")
    assert v15(x).shape == v1(x).shape


def test_empty_attention_slot_adds_nothing():
    with torch.device("meta"):
        model = create("resnet50")
    attn = [m for name, m in model.named_modules() if name.endswith(".attn")]
    assert len(attn) == 16 and all(isinstance(m, nn.Identity) for m in attn)
    assert not any("attn" in k for k in model.state_dict())
    assert count(model) == 25_557_032


def test_attention_slot_gets_block_output_channels():
    seen = []

    def recording(channels: int) -> nn.Module:
        seen.append(channels)
        return nn.Identity()

    for variant, expected in (("resnet18", [64] * 2 + [128] * 2 + [256] * 2 + [512] * 2),
                              ("resnet50", [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3)):
        seen.clear()
        with torch.device("meta"):
            create(variant, attn_layer=recording)
        assert seen == expected


class _Closed(nn.Module):
    """An attention block whose gate is shut: it zeroes the residual branch."""

    def __init__(self, channels: int):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0


def test_attention_acts_on_the_residual_branch_before_the_addition():
    # SE paper Fig. 3 / CBAM Fig. 3: with F(x) gated to zero, Eq. 1 leaves y = relu(x) = x for the
    # (non-negative, post-ReLU) inputs of identity-shortcut blocks. Gating after the sum would give 0.
    torch.manual_seed(0)
    model = create("resnet18", attn_layer=_Closed).eval()
    x = torch.rand(2, 64, 16, 16)
    assert torch.equal(model.layer1(x), x)  # layer1 of ResNet-18 has only identity shortcuts
    # and the same network with zero-initialised last BNs (Goyal et al.) starts as identities too.
    zero = create("resnet18", zero_init_residual=True).eval()
    assert torch.equal(zero.layer1(x), x)
    assert bool((create("resnet18").eval().layer1(x) != x).any())


def test_overfits_a_tiny_batch():
    # A residual net is easy to optimise (Sec. 4.1): ResNet-18 fits 8 random 32 x 32 images in 6 Adam steps.
    torch.manual_seed(0)
    model = create("resnet18", num_classes=4)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_any_input_size():
    torch.manual_seed(0)
    model = create("resnet50", num_classes=7).eval()
    x = torch.randn(1, 3, 64, 80)
    assert model.forward_features(x).shape == (1, 2048, 2, 3)  # /32 with ceil at odd sizes
    assert model(x).shape == (1, 7)
    assert create("resnet18", in_chans=1, num_classes=3)(torch.randn(2, 1, 33, 47)).shape == (2, 3)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="block"):
        create("resnet", block="wide")
    with pytest.raises(ValueError, match="layers"):
        create("resnet", layers=[3, 4, 6])
    with pytest.raises(ValueError, match="stride_in_1x1"):
        create("resnet18", stride_in_1x1=True)
    with pytest.raises(ValueError, match="expected input"):
        create("resnet18")(torch.randn(1, 1, 32, 32))
