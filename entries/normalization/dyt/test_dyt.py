"""What is special about Dynamic Tanh (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _randomize(dyt: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        dyt.weight.copy_(torch.randn(dyt.weight.shape, generator=gen, dtype=dyt.weight.dtype))
        dyt.bias.copy_(torch.randn(dyt.bias.shape, generator=gen, dtype=dyt.bias.dtype))


def default_alpha_init() -> float:
    """The initial alpha of a DyT built with the defaults (read from the parameter, not the config)."""
    return float(create("dyt", dim=768).alpha.item())


def output_bounded_by_gamma_plus_beta() -> bool:
    """Eq. 1: tanh lies in [-1, 1], so |DyT(x)| <= |gamma| + |beta| element-wise, for any input.

    Measured with random gamma, beta and alpha on inputs spanning magnitudes from 1e-3 to 1e30
    (float32), including the extremes where a normalization layer would be needed to tame the values.
    """
    gen = torch.Generator().manual_seed(0)
    dyt = create("dyt", dim=64)
    _randomize(dyt, gen)
    with torch.no_grad():
        dyt.alpha.fill_(1.7)
    magnitude = 10.0 ** (torch.rand(4, 50, 64, generator=gen) * 33 - 3)  # 1e-3 .. 1e30
    x = magnitude * torch.sign(torch.randn(4, 50, 64, generator=gen))
    bound = dyt.weight.abs() + dyt.bias.abs()  # (D,)
    y = dyt(x)
    return bool(torch.isfinite(y).all() and (y.abs() <= bound + 1e-6).all())


def test_default_alpha_and_affine_initialization():
    assert default_alpha_init() == 0.5
    dyt = create("dyt", dim=32)
    assert dyt.alpha.shape == (1,)  # one scalar per layer (Eq. 1), not per channel
    assert torch.equal(dyt.weight, torch.ones(32)) and torch.equal(dyt.bias, torch.zeros(32))
    assert create("dyt", dim=8, alpha_init=0.1).alpha.item() == pytest.approx(0.1)


def test_output_is_bounded():
    assert output_bounded_by_gamma_plus_beta()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_equation_1(dtype):
    gen = torch.Generator().manual_seed(1)
    dyt = create("dyt", dim=16, alpha_init=0.8).to(dtype)
    _randomize(dyt, gen)
    x = 4 * torch.randn(3, 7, 16, generator=gen, dtype=dtype)
    expected = dyt.weight * torch.tanh(0.8 * x) + dyt.bias
    torch.testing.assert_close(dyt(x), expected)


def test_loads_the_authors_state_dict_layout():
    # The authors' DynamicTanh has parameters alpha (1,), weight (C,), bias (C,).
    state = {"alpha": torch.tensor([0.3]), "weight": torch.linspace(-1, 1, 12), "bias": torch.linspace(0, 2, 12)}
    dyt = create("dyt", dim=12)
    dyt.load_state_dict(state)
    x = torch.randn(2, 5, 12)
    torch.testing.assert_close(dyt(x), torch.tanh(0.3 * x) * state["weight"] + state["bias"])


def test_element_wise_no_statistics():
    # Unlike LayerNorm, changing one element leaves every other output unchanged: no token statistics.
    gen = torch.Generator().manual_seed(2)
    dyt = create("dyt", dim=16)
    x = torch.randn(2, 5, 16, generator=gen)
    x2 = x.clone()
    x2[0, 0, 0] = 1000.0
    changed = (dyt(x2) != dyt(x))
    assert changed.sum() == 1 and changed[0, 0, 0]
    ln = torch.nn.LayerNorm(16)
    assert (ln(x2)[0, 0] != ln(x)[0, 0]).sum() > 1


def test_alpha_controls_the_s_curve_like_layernorm_scale():
    # Near 0, DyT is linear with slope alpha * gamma (tanh(a x) ~ a x); large values saturate at +-gamma.
    dyt = create("dyt", dim=4, alpha_init=0.5).double()
    small = torch.full((1, 1, 4), 1e-4, dtype=torch.float64)
    torch.testing.assert_close(dyt(small), 0.5 * small, rtol=1e-6, atol=0)
    big = torch.full((1, 1, 4), 1e4, dtype=torch.float64)
    torch.testing.assert_close(dyt(big), torch.ones_like(big))


def test_gradient_reaches_the_scalar_alpha():
    gen = torch.Generator().manual_seed(3)
    dyt = create("dyt", dim=8).double()
    x = torch.randn(2, 3, 8, generator=gen, dtype=torch.float64)
    (dyt(x) ** 2).sum().backward()
    expected = (2 * torch.tanh(0.5 * x) * (1 - torch.tanh(0.5 * x) ** 2) * x).sum()  # d/dalpha
    torch.testing.assert_close(dyt.alpha.grad[0], expected)


def test_low_precision_inputs():
    gen = torch.Generator().manual_seed(4)
    dyt = create("dyt", dim=32)
    _randomize(dyt, gen)
    x = 5 * torch.randn(2, 9, 32, generator=gen)
    expected = dyt(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = dyt(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0.02, atol=0.05)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="dim"):
        create("dyt", dim=0)
    with pytest.raises(ValueError, match="alpha_init"):
        create("dyt", dim=4, alpha_init=float("nan"))
    dyt = create("dyt", dim=4)
    with pytest.raises(ValueError, match=r"\(\*, 4\)"):
        dyt(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="floating-point"):
        dyt(torch.ones(2, 3, 4, dtype=torch.long))
