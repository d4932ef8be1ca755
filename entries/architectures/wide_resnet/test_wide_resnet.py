"""What is special about wide residual networks (the generic suite covers shapes, gradients and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, get


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_depth_rule():
    # d = 6N + 4 (Table 1; the authors' code: n = (depth - 4) // 6): N = 4 blocks per group for d = 28, two
    # 3x3 convolutions each, plus the conv1 stem; projections only where the width changes (3 of them).
    with torch.device("meta"):
        model = create("wrn28_10")
    blocks = [b for g in (model.block1, model.block2, model.block3) for b in g]
    assert len(blocks) == 3 * (28 - 4) // 6 == 12
    assert sum(b.shortcut is not None for b in blocks) == 3
    convs3 = sum(1 for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert convs3 == 1 + 2 * 12


def test_table1_group_widths_and_resolutions():
    # Table 1, k = 10: conv2 160 ch at 32x32, conv3 320 at 16x16, conv4 640 at 8x8.
    model = create("wrn16_8").eval()  # (smaller: 128/256/512)
    shapes = []
    hooks = [g.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
             for g in (model.block1, model.block2, model.block3)]
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert shapes == [(1, 128, 32, 32), (1, 256, 16, 16), (1, 512, 8, 8)]
    with torch.device("meta"):
        w = create("wrn28_10")
    assert (w.block1[0].conv1.out_channels, w.block2[0].conv1.out_channels, w.block3[0].conv1.out_channels) == \
        (160, 320, 640)


def test_pre_activation_order_and_identity_path():
    # Fig. 1(c): BN-ReLU-conv; a block with zeroed last conv returns its input exactly (no ReLU after the sum).
    torch.manual_seed(0)
    model = create("wrn16_8").eval()
    block = model.block1[1]  # identity-shortcut block
    nn.init.zeros_(block.conv2.weight)
    x = torch.randn(2, 128, 8, 8)  # negative values survive: nothing rectifies the identity path
    assert torch.equal(block(x), x)


def test_wrn_widening_parameter_formula():
    # A B(3,3) block of width w has 2 * 9 w^2 conv weights: widening k multiplies the block cost by k^2.
    small, wide = create("wrn", style="cifar", depth=10, widen_factor=1), create("wrn", style="cifar", depth=10,
                                                                                  widen_factor=4)
    assert count(wide.block3[0].conv2) == 16 * count(small.block3[0].conv2) == 16 * 9 * 64 * 64


def test_imagenet_is_resnet_with_wider_bottleneck():
    # torchvision: "same as ResNet except for the bottleneck number of channels which is twice larger".
    with torch.device("meta"):
        model = create("wide_resnet50_2")
    assert (model.layer4[2].conv1.out_channels, model.layer4[2].conv3.out_channels) == (1024, 2048)
    assert (model.layer1[0].conv2.in_channels, model.layer1[0].conv3.out_channels) == (128, 256)


def test_torchvision_key_layout():
    # torchvision's ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=128): conv1, bn1, layer1..4.k.{conv,bn}1-3,
    # downsample.0/.1 in the first block of each stage, fc.
    with torch.device("meta"):
        state = create("wide_resnet50_2").state_dict()
    assert len(state) == 320  # same key count as ResNet-50
    assert tuple(state["layer2.0.conv2.weight"].shape) == (256, 256, 3, 3)
    assert tuple(state["layer3.5.conv1.weight"].shape) == (512, 1024, 1, 1)
    assert tuple(state["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(state["fc.weight"].shape) == (1000, 2048)
    assert not any("attn" in k for k in state)


def test_attention_slot_both_styles():
    with torch.device("meta"):
        se = create("wrn40_4", attention="seblock")
        se50 = create("wide_resnet50_2", attention="seblock")
    assert sum(1 for m in se.modules() if type(m) is get("seblock")) == 18
    assert sum(1 for m in se50.modules() if type(m) is get("seblock")) == 16


def test_dropout_variant_only_in_training():
    torch.manual_seed(0)
    model = create("wrn", style="cifar", depth=10, widen_factor=1, dropout=0.3, num_classes=3)
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    assert any(isinstance(m, nn.Dropout) and m.p == 0.3 for m in model.modules())


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("wrn", style="cifar", depth=10, widen_factor=2, num_classes=4)
    x, y = torch.randn(8, 3, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="6N"):
        create("wrn", style="cifar", depth=27)
    with pytest.raises(ValueError, match="style"):
        create("wrn", style="svhn")
    with pytest.raises(ValueError, match="imagenet depth"):
        create("wrn", depth=34)
    with pytest.raises(ValueError, match="dropout"):
        create("wrn", dropout=0.3)
