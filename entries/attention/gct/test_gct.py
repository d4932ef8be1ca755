"""What is special about GCT (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch import nn

from encyclo import UnknownEntryError, create, entry


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _needs(name: str) -> None:
    try:
        entry(name)
    except UnknownEntryError:
        pytest.skip(f"no {name} entry registered")


def _random_gct(channels: int, **kw) -> nn.Module:
    torch.manual_seed(0)
    gct = create("gct", channels=channels, **kw)
    with torch.no_grad():
        gct.alpha.uniform_(0.5, 2)
        gct.gamma.normal_()
        gct.beta.normal_()
    return gct


def identity_at_init() -> float:
    """max |GCT(x) - x| for a freshly built GCT (gamma = beta = 0 -> gate 1 + tanh(0) = 1)."""
    torch.manual_seed(0)
    x = torch.randn(2, 64, 9, 7) * 3
    with torch.no_grad():
        return float((create("gct", channels=64)(x) - x).abs().max())


def test_identity_at_initialisation():
    assert identity_at_init() == 0.0


def test_matches_the_three_steps_written_out():
    gct = _random_gct(8)
    x = torch.randn(3, 8, 5, 6)
    eps, c = 1e-5, 8
    s = gct.alpha.view(1, c) * torch.sqrt(x.pow(2).sum(dim=(2, 3)) + eps)  # embedding
    s_hat = (c ** 0.5) * s / torch.sqrt(s.pow(2).sum(1, keepdim=True) + c * eps)  # sqrt(C) s / ||s||_2
    gate = 1 + torch.tanh(gct.gamma.view(1, c) * s_hat + gct.beta.view(1, c))
    with torch.no_grad():
        assert torch.allclose(gct(x), x * gate[:, :, None, None], atol=1e-5)


def test_channel_normalization_makes_channels_compete():
    # s_hat has unit root mean square over channels, so raising one channel's norm lowers the others' s_hat:
    # with gamma > 0 the other channels' gates go down (competition).
    gct = create("gct", channels=4)
    with torch.no_grad():
        gct.gamma.fill_(1.0)
    x = torch.rand(1, 4, 5, 5) + 0.5
    x2 = x.clone()
    x2[:, 0] *= 4
    with torch.no_grad():
        g, g2 = (gct(x) / x)[0, :, 0, 0], (gct(x2) / x2)[0, :, 0, 0]
    assert g2[0] > g[0] and bool((g2[1:] < g[1:]).all())


def test_gate_range_and_scale_invariance():
    # 1 + tanh(.) lies in (0, 2); channel normalization makes the gate invariant to a global rescaling of x.
    gct = _random_gct(16)
    x = torch.randn(2, 16, 6, 6)
    with torch.no_grad():
        g = gct(x) / x
        assert bool(((g > 0) & (g < 2)).all())
        assert torch.allclose(gct(x * 10) / (x * 10), g, atol=1e-4)


def test_params_are_three_per_channel():
    gct = create("gct", channels=64)
    assert count(gct) == 3 * 64
    assert bool((gct.alpha == 1).all() and (gct.gamma == 0).all() and (gct.beta == 0).all())


def test_l1_mode():
    gct = _random_gct(4, mode="l1")
    x = torch.randn(2, 4, 3, 3)
    s = gct.alpha.view(1, 4) * x.abs().sum(dim=(2, 3))
    s_hat = s / (s.abs().mean(1, keepdim=True) + 1e-5)
    gate = 1 + torch.tanh(gct.gamma.view(1, 4) * s_hat + gct.beta.view(1, 4))
    with torch.no_grad():
        assert torch.allclose(gct(x), x * gate[:, :, None, None], atol=1e-5)


def test_float16_embedding_does_not_overflow():
    # sum_{h,w} x^2 exceeds float16's range on a 56 x 56 map of activations ~10: reduced in float32.
    gct = create("gct", channels=4).half()
    with torch.no_grad():
        gct.gamma.fill_(1.0)
    x = (torch.randn(1, 4, 56, 56) * 10).half()
    y = gct(x)
    assert y.dtype == torch.float16 and bool(torch.isfinite(y).all())


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        create("gct", channels=4, mode="l3")
    with pytest.raises(ValueError, match="shape"):
        create("gct", channels=4)(torch.randn(1, 3, 4, 4))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="gct", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
