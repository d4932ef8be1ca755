"""What is special about SimAM (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch import nn

from encyclo import UnknownEntryError, create, entry


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def simam_resnet50_params() -> int:
    """README table: SimAM-R50 has ResNet-50's parameters (SimAM in every bottleneck adds none)."""
    return count(create("resnet50", attention="simam"))


def closed_form(x: torch.Tensor, lam: float = 1e-4) -> torch.Tensor:
    """Eqs. 5-6 as printed, in float64: e_t* = 4(s2 + lam) / ((t - mu)^2 + 2 s2 + 2 lam), out = x sigmoid(1/e_t*).

    mu and s2 are the channel's mean and variance, the variance over H W - 1 as in the authors' code.
    """
    x = x.double()
    mu = x.mean(dim=(2, 3), keepdim=True)
    s2 = x.var(dim=(2, 3), keepdim=True, unbiased=True)
    e = 4 * (s2 + lam) / ((x - mu) ** 2 + 2 * s2 + 2 * lam)  # Eq. 5
    return x * torch.sigmoid(1 / e)  # Eq. 6


def closed_form_matches() -> bool:
    """The module's output equals Eqs. 5-6 evaluated literally (largest error below 1e-5)."""
    torch.manual_seed(0)
    x = torch.randn(2, 16, 7, 9) * 3 + 1
    with torch.no_grad():
        y = create("simam", channels=16)(x)
    return float((y.double() - closed_form(x)).abs().max()) < 1e-5


def _needs(name: str) -> None:
    try:
        entry(name)
    except UnknownEntryError:
        pytest.skip(f"no {name} entry registered")


def test_output_is_the_closed_form_of_eqs_5_6():
    assert closed_form_matches()
    torch.manual_seed(1)
    x = torch.randn(1, 4, 3, 5)
    m = create("simam", channels=4, e_lambda=0.1)
    assert torch.allclose(m(x).double(), closed_form(x, 0.1), atol=1e-6)


def test_minimal_energy_is_the_minimum_of_the_energy_function():
    # Sec. 3.1: e_t = (1/(M-1)) sum_i (-1 - (w x_i + b))^2 + (1 - (w t + b))^2 + lam w^2, minimised over (w, b).
    # Solve the 2-parameter ridge regression numerically for one neuron and compare with Eq. 5. With
    # mu, s2 taken over the other M - 1 neurons this is exact (the closed form's derivation, Eqs. 3-4).
    torch.manual_seed(0)
    xs = torch.randn(12, dtype=torch.float64)
    t, others, lam = xs[0], xs[1:], 0.3
    m1 = others.numel()
    a = torch.stack([torch.cat([others, t[None]]), torch.ones(m1 + 1, dtype=torch.float64)], 1)
    y = torch.cat([-torch.ones(m1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)])
    wts = torch.cat([torch.full((m1,), 1.0 / m1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)])
    gram = a.T @ (wts[:, None] * a) + torch.diag(torch.tensor([lam, 0.0], dtype=torch.float64))
    wb = torch.linalg.solve(gram, a.T @ (wts * y))
    energy = (wts * (y - a @ wb) ** 2).sum() + lam * wb[0] ** 2
    mu, s2 = others.mean(), others.var(unbiased=False)
    e_star = 4 * (s2 + lam) / ((t - mu) ** 2 + 2 * s2 + 2 * lam)
    assert torch.allclose(energy, e_star, rtol=1e-9)


def test_no_parameters_and_no_state():
    m = create("simam", channels=256)
    assert count(m) == 0 and len(list(m.buffers())) == 0
    assert simam_resnet50_params() == count(create("resnet50")) == 25_557_032


def test_weights_are_3d_and_favour_distinctive_neurons():
    # Eq. 5: lower energy (t far from mu) -> larger weight; the weight varies over space AND channels,
    # and is >= sigmoid(1/2) everywhere since 1/e_t* >= 1/2.
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    m = create("simam", channels=8)
    w = torch.sigmoid(m.inverse_energy(x))
    assert bool((w >= torch.sigmoid(torch.tensor(0.5)) - 1e-7).all())
    d = (x - x.mean(dim=(2, 3), keepdim=True)).abs()
    ch = w[0, 0].flatten()
    order = d[0, 0].flatten().argsort()
    assert bool((ch[order].diff() >= -1e-7).all())  # monotone in |t - mu| within a channel
    assert w.std(dim=(2, 3)).min() > 0 and w.std(dim=1).min() > 0


def test_invariant_to_channel_shift_and_equivariant_to_spatial_permutation():
    # Only (t - mu)^2 / sigma^2 enters the weight: adding a constant per channel leaves it unchanged, and
    # permuting positions permutes it.
    torch.manual_seed(0)
    x = torch.randn(1, 4, 5, 5)
    m = create("simam", channels=4)
    w = m.inverse_energy(x)
    assert torch.allclose(m.inverse_energy(x + torch.randn(1, 4, 1, 1) * 5), w, atol=1e-4)
    perm = torch.randperm(25)
    assert torch.allclose(m.inverse_energy(x.flatten(2)[:, :, perm].reshape_as(x)), w.flatten(2)[:, :, perm].reshape_as(x),
                          atol=1e-5)


def test_unbiased_flag_selects_the_divisor():
    x = torch.randn(1, 2, 4, 4)
    d = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
    for unbiased, n in ((True, 15), (False, 16)):
        expected = d / (4 * (d.sum(dim=(2, 3), keepdim=True) / n + 1e-4)) + 0.5
        assert torch.allclose(create("simam", unbiased=unbiased).inverse_energy(x), expected, atol=1e-6)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="e_lambda"):
        create("simam", e_lambda=0.0)
    with pytest.raises(ValueError, match="2 spatial"):
        create("simam")(torch.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match="shape"):
        create("simam", channels=8)(torch.randn(1, 4, 5, 5))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="simam", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert create("resnet50", attention="simam") is not None
