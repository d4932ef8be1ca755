"""What is special about SRM (the generic suite covers shapes, gradients and claims)."""

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


def _random_srm(channels: int) -> nn.Module:
    torch.manual_seed(0)
    srm = create("srm", channels=channels).eval()
    with torch.no_grad():
        srm.cfc.normal_()
        srm.bn.running_mean.uniform_(-1, 1)
        srm.bn.running_var.uniform_(0.5, 2)
        srm.bn.weight.uniform_(0.5, 2)
        srm.bn.bias.uniform_(-1, 1)
    return srm


def srm_resnet50_extra_params() -> int:
    """SRM in every bottleneck of ResNet-50: 4C per block."""
    return count(create("resnet50", attention="srm")) - count(create("resnet50"))


def channel_independent() -> bool:
    """Perturbing channel 5 changes the gate of channel 5 and of no other channel (eval-mode BN)."""
    srm = _random_srm(16)
    x = torch.rand(2, 16, 6, 6) + 0.5
    x2 = x.clone()
    x2[:, 5] = x2[:, 5] * 3 + 1
    with torch.no_grad():
        changed = ((srm(x) / x)[:, :, 0, 0] - (srm(x2) / x2)[:, :, 0, 0]).abs().amax(0) > 1e-7
    return changed.nonzero().flatten().tolist() == [5]


def test_gate_is_sigmoid_of_bn_of_cfc_of_mean_and_std():
    srm = _random_srm(8)
    x = torch.randn(3, 8, 5, 7) * 2 + 1
    mu, sd = x.mean(dim=(2, 3)), x.std(dim=(2, 3))  # style pooling
    z = srm.cfc[:, 0] * mu + srm.cfc[:, 1] * sd  # CFC
    bn = srm.bn
    g = torch.sigmoid((z - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias)
    with torch.no_grad():
        assert torch.allclose(srm(x), x * g[:, :, None, None], atol=1e-5)


def test_channel_independent_integration():
    assert channel_independent()


def test_style_sees_the_std_not_only_the_mean():
    # Unlike SE/GE (mean only), two channels with the same mean and different spread get different gates.
    srm = _random_srm(2)
    base = torch.tensor([-1.0, 1.0]).repeat(8).view(1, 1, 4, 4)
    x = torch.cat([base, base], 1) + 2
    x2 = torch.cat([base, base * 3], 1) + 2  # channel 1: same mean, 3x the std
    with torch.no_grad():
        g1, g2 = srm(x) / x, srm(x2) / x2
    assert torch.allclose(x.mean(dim=(2, 3)), x2.mean(dim=(2, 3)))
    assert torch.allclose(g1[:, 0], g2[:, 0]) and not torch.allclose(g1[:, 1], g2[:, 1])


def test_params_and_zero_init():
    srm = create("srm", channels=64)
    assert count(srm) == 4 * 64 and tuple(srm.cfc.shape) == (64, 2)
    assert bool((srm.cfc == 0).all())  # authors' initialisation: the gate starts at sigmoid(0) = 1/2
    x = torch.randn(2, 64, 4, 4)
    assert torch.allclose(srm.eval()(x), x / 2, atol=1e-6)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="H \\* W"):
        create("srm", channels=4)(torch.randn(2, 4, 1, 1))
    with pytest.raises(ValueError, match="shape"):
        create("srm", channels=4)(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="eps"):
        create("srm", channels=4, eps=-1.0)


def test_resnet50_extra_params():
    _needs("resnet50")
    assert srm_resnet50_extra_params() == 4 * (3 * 256 + 4 * 512 + 6 * 1024 + 3 * 2048)


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="srm", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
