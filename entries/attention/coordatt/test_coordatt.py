"""What is special about coordinate attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch import nn

from encyclo import UnknownEntryError, create, entry

# (t, c, n, s) of MobileNetV2-1.0, as in the authors' mbv2_ca.py (and MobileNetV2's Table 2).
MBV2_CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv_bn(i: int, o: int, k: int, s: int = 1, groups: int = 1, act: bool = True) -> list[nn.Module]:
    layers = [nn.Conv2d(i, o, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(o)]
    return layers + [nn.ReLU6()] if act else layers


def mobilenet_v2(attention: bool) -> nn.Module:
    """MobileNetV2-1.0 laid out as the authors' mbv2_ca.py: CA after the depthwise conv of every t = 6 block."""
    layers, cin = _conv_bn(3, 32, 3, 2), 32
    for t, c, n, s in MBV2_CFG:
        for i in range(n):
            hid = cin * t
            block = [] if t == 1 else _conv_bn(cin, hid, 1)
            block += _conv_bn(hid, hid, 3, s if i == 0 else 1, groups=hid)
            if attention and t != 1:  # mbv2_ca.py inserts CoordAtt only in blocks with an expansion layer
                block.append(create("coordatt", channels=hid))
            block += _conv_bn(hid, c, 1, act=False)
            layers.append(nn.Sequential(*block))
            cin = c
    layers += _conv_bn(cin, 1280, 1)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000))


def mobilenetv2_ca_params() -> int:
    """Authors' README / paper results table: MobileNetV2 + CA has 3.95M parameters."""
    return count(mobilenet_v2(attention=True))


def gate_map_rank() -> int:
    """Eq. 9: the largest numerical rank of a channel's H x W gate y / x (1: an outer product g^h g^w)."""
    gate = _gate_maps()
    return int(torch.linalg.matrix_rank(gate, rtol=1e-5).max())


def _gate_maps() -> torch.Tensor:
    torch.manual_seed(0)
    ca = create("coordatt", channels=32, reduction=4).eval()
    x = torch.rand(2, 32, 9, 6) + 0.5  # positive, so y / x is the gate
    with torch.no_grad():
        return (ca(x) / x).double()  # (N, C, H, W)


def gate_factorisation_error() -> float:
    """Eq. 9: the effective gate y / x of every channel is an outer product g^h (H) x g^w (W).

    Returns the largest deviation of y / x from its best rank-1 approximation (the second singular value
    relative to the first, over all channels): 0 up to float rounding.
    """
    s = torch.linalg.svdvals(_gate_maps())  # per (n, c): singular values of the H x W gate
    return float((s[..., 1] / s[..., 0]).max())


def _needs(name: str) -> None:
    try:
        entry(name)
    except UnknownEntryError:
        pytest.skip(f"no {name} entry registered")


def test_params_follow_the_formula():
    # F1: C*m + m, BN: 2m, F_h and F_w: 2 (m*C + C), with m = max(8, C // 32) (authors' code).
    for c in (16, 64, 256, 512, 1024, 2048):
        m = max(8, c // 32)
        ca = create("coordatt", channels=c)
        assert ca.hidden == m
        assert count(ca) == c * m + m + 2 * m + 2 * (m * c + c)


def test_gate_factorises_into_h_and_w_vectors():
    assert gate_factorisation_error() < 1e-5
    assert gate_map_rank() == 1
    torch.manual_seed(0)
    ca = create("coordatt", channels=16, reduction=4).eval()
    x = torch.randn(2, 16, 5, 11)  # H != W
    with torch.no_grad():
        g_h, g_w = ca.gates(x)
        assert g_h.shape == (2, 16, 5, 1) and g_w.shape == (2, 16, 1, 11)
        assert torch.allclose(ca(x), x * (g_h * g_w), atol=1e-6)


def test_matches_the_equations_written_out():
    # Eqs. 4-9 with the module's own weights, in eval mode (BN uses running statistics).
    torch.manual_seed(0)
    ca = create("coordatt", channels=24, reduction=2).eval()
    ca.bn1.running_mean.uniform_(-0.5, 0.5)
    ca.bn1.running_var.uniform_(0.5, 1.5)
    x = torch.randn(3, 24, 7, 4)
    z_h = x.mean(3)  # Eq. 4: (N, C, H)
    z_w = x.mean(2)  # Eq. 5: (N, C, W)
    w1, b1 = ca.conv1.weight[:, :, 0, 0], ca.conv1.bias
    bn = ca.bn1

    def f(z):  # Eq. 6 on each part (F1 is a 1x1 conv: position-wise, so concat-then-split == apply to each)
        u = torch.einsum("mc,ncl->nml", w1, z) + b1[:, None]
        u = (u - bn.running_mean[:, None]) / torch.sqrt(bn.running_var[:, None] + bn.eps) * bn.weight[:, None] \
            + bn.bias[:, None]
        return u * torch.clamp(u + 3, 0, 6) / 6  # h-swish

    g_h = torch.sigmoid(torch.einsum("cm,nml->ncl", ca.conv_h.weight[:, :, 0, 0], f(z_h)) + ca.conv_h.bias[:, None])
    g_w = torch.sigmoid(torch.einsum("cm,nml->ncl", ca.conv_w.weight[:, :, 0, 0], f(z_w)) + ca.conv_w.bias[:, None])
    with torch.no_grad():
        assert torch.allclose(ca(x), x * g_h[:, :, :, None] * g_w[:, :, None, :], atol=1e-5)  # Eq. 9


def test_position_sensitive_unlike_se():
    # Sec. 3.2: the gate keeps position along one axis. A constant-per-channel map gets a constant gate, but
    # moving a bright row changes where the H gate peaks; SE's gate could not tell the two apart.
    torch.manual_seed(0)
    ca = create("coordatt", channels=8, reduction=1).eval()
    a = torch.zeros(1, 8, 6, 6)
    b = a.clone()
    a[:, :, 1] = 3.0
    b[:, :, 4] = 3.0
    with torch.no_grad():
        ga, _ = ca.gates(a)
        gb, _ = ca.gates(b)
    assert torch.allclose(ga[:, :, 1], gb[:, :, 4], atol=1e-6)  # the gate moves with the row
    assert torch.allclose(ga[:, :, [0, 2, 3, 4, 5]].std(dim=2), torch.zeros(1, 8, 1), atol=1e-6)


def test_mobilenetv2_ca_params():
    assert count(mobilenet_v2(attention=False)) == 3_504_872  # MobileNetV2-1.0 (README: 3.5M)
    assert abs(mobilenetv2_ca_params() - 3_950_000) / 3_950_000 < 0.005


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        create("coordatt", channels=8, activation="gelu")
    with pytest.raises(ValueError, match="positive"):
        create("coordatt", channels=8, reduction=0)
    with pytest.raises(ValueError, match="shape"):
        create("coordatt", channels=8)(torch.randn(1, 4, 5, 5))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="coordatt", num_classes=10).train()
    assert sum(isinstance(m, type(create("coordatt", channels=64))) for m in net.modules()) == 8
    x = torch.randn(2, 3, 64, 64)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    grads = [p.grad for n, p in net.named_parameters() if "conv_h" in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert create("resnet50", attention="coordinate_attention") is not None
