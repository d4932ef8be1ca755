"""What is special about FRN + TLU (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _randomize(frn: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for p in (frn.weight, frn.bias, frn.tau):
            if p is not None:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))


def batch_independent() -> bool:
    """Abstract / Sec. 3: every sample is normalized on its own, so its output does not depend on its batch.

    Normalize 8 samples together, then each alone and in a different batch, and compare (float64).
    """
    gen = torch.Generator().manual_seed(0)
    frn = create("frn", channels=16).double()
    _randomize(frn, gen)
    x = torch.randn(8, 16, 6, 5, generator=gen, dtype=torch.float64) * 3 + 1
    together = frn(x)
    alone = torch.cat([frn(x[i:i + 1]) for i in range(8)])
    other = frn(torch.cat([x[:1], 100 * torch.randn(3, 16, 6, 5, generator=gen, dtype=torch.float64)]))[:1]
    return bool((together - alone).abs().max() < 1e-13 and (together[:1] - other).abs().max() < 1e-13)


def tlu_floor() -> list[bool]:
    """Eq. 4: z = max(y, tau): never below tau, and exactly tau wherever y = gamma x_hat + beta is below it."""
    gen = torch.Generator().manual_seed(1)
    frn = create("frn", channels=16).double()
    _randomize(frn, gen)
    x = torch.randn(4, 16, 7, 7, generator=gen, dtype=torch.float64)
    z = frn(x).detach()
    tau = frn.tau.detach().reshape(1, 16, 1, 1)
    nu2 = x.square().mean(dim=(2, 3), keepdim=True)
    y = frn.weight.detach().reshape(1, 16, 1, 1) * x / torch.sqrt(nu2 + frn.eps) + frn.bias.detach().reshape(1, 16, 1, 1)
    below = y < tau
    return [bool((z >= tau).all()), bool(below.any() and (z[below.expand_as(z)] == tau.expand_as(z)[below]).all())]


def normalized_mean_square() -> float:
    """Eq. 1-2: x_hat = x / sqrt(nu^2 + eps) has mean square nu^2 / (nu^2 + eps) over (H, W): 1 for tiny eps."""
    gen = torch.Generator().manual_seed(2)
    frn = create("frn", channels=16, eps=1e-12, apply_tlu=False).double()
    ramp = torch.arange(1, 17, dtype=torch.float64).reshape(1, 16, 1, 1)
    x = torch.randn(3, 16, 5, 6, generator=gen, dtype=torch.float64) * ramp + ramp  # not centred: no mean removal
    x_hat = frn(x).detach()
    return float(x_hat.square().mean(dim=(2, 3)).mean())


def test_claims_measure_the_paper_figures():
    assert batch_independent() is True
    assert tlu_floor() == [True, True]
    assert normalized_mean_square() == pytest.approx(1.0, abs=1e-9)


def test_matches_the_equations_written_out():
    gen = torch.Generator().manual_seed(3)
    frn = create("frn", channels=5, eps=1e-3).double()
    _randomize(frn, gen)
    x = torch.randn(2, 5, 4, 3, generator=gen, dtype=torch.float64)
    nu2 = (x**2).sum(dim=(2, 3), keepdim=True) / 12  # Eq. 1 with N = H * W = 12
    x_hat = x / torch.sqrt(nu2 + 1e-3)  # Eq. 2
    y = frn.weight.reshape(1, 5, 1, 1) * x_hat + frn.bias.reshape(1, 5, 1, 1)  # Eq. 3
    z = torch.max(y, frn.tau.reshape(1, 5, 1, 1))  # Eq. 4
    torch.testing.assert_close(frn(x), z, rtol=1e-12, atol=1e-12)


def test_no_mean_subtraction_unlike_instance_norm():
    # FRN divides by the root mean square, it does not centre: a constant positive map stays positive and
    # becomes ~1, where Instance Norm would give 0.
    frn = create("frn", channels=2, eps=1e-10, apply_tlu=False).double()
    x = torch.full((1, 2, 4, 4), 3.0, dtype=torch.float64)
    torch.testing.assert_close(frn(x), torch.ones_like(x), rtol=1e-8, atol=1e-8)


def test_tlu_is_relu_shifted_by_tau():
    # Sec. 3: max(y, tau) = ReLU(y - tau) + tau; with tau = 0 the FRN layer is FRN followed by ReLU.
    gen = torch.Generator().manual_seed(4)
    frn = create("frn", channels=6).double()
    x = torch.randn(3, 6, 5, 5, generator=gen, dtype=torch.float64)
    plain = create("frn", channels=6, apply_tlu=False).double()
    torch.testing.assert_close(frn(x), torch.relu(plain(x)), rtol=0, atol=0)


def test_scale_invariant_per_sample_and_channel():
    # nu^2 scales with s^2, so x_hat is unchanged when a sample's channel is multiplied by s > 0 (eps -> 0).
    gen = torch.Generator().manual_seed(5)
    frn = create("frn", channels=4, eps=1e-14).double()
    _randomize(frn, gen)
    x = torch.randn(3, 4, 6, 6, generator=gen, dtype=torch.float64)
    s = torch.rand(3, 4, 1, 1, generator=gen, dtype=torch.float64) * 10 + 0.1
    torch.testing.assert_close(frn(x * s), frn(x), rtol=1e-9, atol=1e-9)


def test_learnable_eps_adds_one_parameter_and_learns():
    frn = create("frn", channels=8, learnable_eps=True)
    assert sum(p.numel() for p in frn.parameters()) == 3 * 8 + 1
    x = torch.randn(4, 8)  # (N, C): the 1 x 1 case the learned eps is for
    frn(x).square().sum().backward()
    assert frn.eps_learned.grad is not None and frn.eps_learned.grad.abs() > 0


def test_one_by_one_maps_approach_sign_without_learned_eps():
    # Sec. 3: with 1 x 1 maps nu^2 = x^2, so x_hat = x / sqrt(x^2 + eps) ~ sign(x) for small eps.
    frn = create("frn", channels=3, eps=1e-10, apply_tlu=False).double()
    x = torch.tensor([[0.5, -2.0, 3.0]], dtype=torch.float64)
    torch.testing.assert_close(frn(x), torch.sign(x), rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(frn(x.reshape(1, 3, 1, 1)).reshape(1, 3), torch.sign(x), rtol=1e-8, atol=1e-8)


def test_same_function_in_train_and_eval():
    frn = create("frn", channels=8)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(frn.train()(x), frn.eval()(x), rtol=0, atol=0)


def test_low_precision_inputs():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 32, 6, 6, generator=gen) * 3
    expected = create("frn", channels=32)(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = create("frn", channels=32)(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        create("frn", channels=0)
    with pytest.raises(ValueError, match="eps"):
        create("frn", channels=4, eps=0.0)
    frn = create("frn", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, \*\)"):
        frn(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="floating-point"):
        frn(torch.ones(2, 4, 5, 5, dtype=torch.long))
