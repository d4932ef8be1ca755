"""What is special about the pre-activation ResNet (the generic suite covers shapes, gradients and the claims)."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _meta(variant: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return create(variant, **kw)


def macs(model: nn.Module, shape: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(shape, device="meta"))
    return counter.get_total_flops() // 2


def main_path_depth(variant: str) -> int:
    """Weighted layers on the main path: every convolution except the 1x1 projection shortcuts, plus fc."""
    model = _meta(variant)
    shortcuts = {id(m.shortcut) for m in model.modules() if getattr(m, "shortcut", None) is not None}
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in shortcuts for m in model.modules())


def depth_164() -> int:
    return main_path_depth("preact_resnet164")


def depth_1001() -> int:
    return main_path_depth("preact_resnet1001")


def conv_fc_weights_1001() -> int:
    """Parameters of convolutions and the fc layer only (BN scales and shifts left out)."""
    return sum(p.numel() for m in _meta("preact_resnet1001").modules() if isinstance(m, (nn.Conv2d, nn.Linear))
               for p in m.parameters())


def test_cifar_layout_follows_authors_code():
    # resnet-pre-act.lua: 3x3 conv with 16 maps; three stages of n = (depth - 2) / 9 bottlenecks with outputs
    # 64, 128, 256 (widths 16, 32, 64); stride 2 on the first 1x1 of stages 2 and 3; 8 x 8 before pooling.
    model = _meta("preact_resnet164")
    stages = [model.layer1, model.layer2, model.layer3]
    assert model.layer4 is None and [len(s) for s in stages] == [18, 18, 18]
    assert [(s[0].conv1.out_channels, s[0].conv3.out_channels) for s in stages] == [(16, 64), (32, 128), (64, 256)]
    assert [s[0].conv1.stride for s in stages] == [(1, 1), (2, 2), (2, 2)]
    assert model.forward_features(torch.randn(1, 3, 32, 32, device="meta")).shape == (1, 256, 8, 8)
    assert model.fc.out_features == 10


def test_projection_only_where_the_shape_changes_and_without_bn():
    # Identity shortcuts everywhere except the first unit of each stage (a 1x1 conv, no BN, in the authors' code).
    for variant, n_proj in (("preact_resnet18", 3), ("preact_resnet50", 4), ("preact_resnet1001", 3)):
        units = [u for u in _meta(variant).modules() if hasattr(u, "shortcut")]
        proj = [u.shortcut for u in units if u.shortcut is not None]
        assert len(proj) == n_proj and all(isinstance(p, nn.Conv2d) for p in proj)


def test_nothing_after_the_addition():
    # Fig. 4(e) / Eq. 3: x_{l+1} = x_l + F(x_l). With F gated to zero, an identity unit returns its input
    # exactly, negative values included (a ReLU after the addition, as in the original unit, would clip them).
    class Closed(nn.Module):
        def __init__(self, channels: int):
            super().__init__()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 0

    model = create("preact_resnet18", attn_layer=Closed).eval()
    x = torch.randn(2, 64, 8, 8)
    assert bool((x < 0).any()) and torch.equal(model.layer1[1](x), x)
    # Eq. 4: x_L = x_l + sum of residuals, so the whole stack of identity units is the identity too.
    zero = create("preact_resnet164", zero_init_residual=True).eval()
    x = torch.randn(2, 64, 8, 8)
    assert torch.equal(zero.layer1[1:](x), x)


def test_units_pre_activate_with_bn_relu():
    # Full pre-activation (Fig. 4(e)): BN then ReLU before every convolution of the residual branch. The unit's
    # output depends on x only through relu(BN(x)) on the branch plus x itself on the shortcut.
    torch.manual_seed(0)
    model = create("preact_resnet18").eval()
    unit = model.layer2[1]
    x = torch.randn(2, 128, 6, 6)
    with torch.no_grad():
        for bn in (unit.bn1, unit.bn2):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
        a = torch.relu(unit.bn1(x))
        branch = unit.conv2(torch.relu(unit.bn2(unit.conv1(a))))
        assert torch.allclose(unit(x), x + branch, atol=1e-5)


def test_imagenet_params_are_resnet_minus_projection_bns():
    # Pre-activation BNs (one per conv, on its input) plus the final BN replace torchvision's post-conv BNs
    # (stem BN included) channel for channel; only the projection shortcuts lose their BN.
    for variant, proj in (("18", (128, 256, 512)), ("50", (256, 512, 1024, 2048)), ("152", (256, 512, 1024, 2048))):
        pre, post = _meta(f"preact_resnet{variant}"), _meta(f"resnet{variant}")
        assert count(post) - count(pre) == 2 * sum(proj)
        assert macs(pre) == macs(post)  # BN placement costs no multiply-adds


def test_attention_slot_sits_on_the_residual_branch():
    seen = []

    def recording(channels: int) -> nn.Module:
        seen.append(channels)
        return nn.Identity()

    with torch.device("meta"):
        create("preact_resnet50", attn_layer=recording)
    assert seen == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    model = _meta("preact_resnet50")
    assert not any("attn" in k for k in model.state_dict())
    se = _meta("preact_resnet50", attention="seblock")
    assert count(se) - count(model) == count(_meta("resnet50", attention="seblock")) - count(_meta("resnet50"))


def test_overfits_a_tiny_batch():
    # Pre-activation eases optimisation (Sec. 4): a CIFAR-layout pre-act ResNet-29 (n = 3) fits 8 random
    # 16 x 16 images in a few Adam steps.
    torch.manual_seed(0)
    model = create("preact_resnet", stem="cifar", layers=[3, 3, 3], num_classes=4)
    x, y = torch.randn(8, 3, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="block"):
        create("preact_resnet", block="wide")
    with pytest.raises(ValueError, match="layers"):
        create("preact_resnet", stem="cifar", layers=[3, 4, 6, 3])
    with pytest.raises(ValueError, match="stride_in_1x1"):
        create("preact_resnet18", stride_in_1x1=True)
    with pytest.raises(ValueError, match="stem"):
        create("preact_resnet", stem="tiny")
    with pytest.raises(ValueError, match="expected input"):
        create("preact_resnet18")(torch.randn(1, 1, 32, 32))
