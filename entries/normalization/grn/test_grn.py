"""What is special about Global Response Normalization (the generic suite covers shapes, gradients, claims)."""

import pytest
import torch

from encyclo import create


def identity_at_initialization() -> bool:
    """Eq. 3 with gamma = beta = 0 (their initialization): the output is exactly the input."""
    gen = torch.Generator().manual_seed(0)
    grn = create("grn", channels=64)
    x = 3 * torch.randn(2, 64, 9, 7, generator=gen) + 1
    return bool(torch.equal(grn(x), x))


def _algorithm1_channels_last(x_nhwc, gamma, beta, eps=1e-6):
    """The paper's Algorithm 1 / the authors' GRN, transcribed for (N, H, W, C) input."""
    gx = torch.norm(x_nhwc, p=2, dim=(1, 2), keepdim=True)
    nx = gx / (gx.mean(dim=-1, keepdim=True) + eps)
    return gamma * (x_nhwc * nx) + beta + x_nhwc


def _randomize(grn: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        grn.gamma.copy_(torch.randn(grn.gamma.shape, generator=gen, dtype=grn.gamma.dtype))
        grn.beta.copy_(torch.randn(grn.beta.shape, generator=gen, dtype=grn.beta.dtype))


def test_identity_at_initialization():
    assert identity_at_initialization()
    grn = create("grn", channels=8)
    assert torch.count_nonzero(grn.gamma) == 0 and torch.count_nonzero(grn.beta) == 0


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(2, 16, 8, 8), (3, 5, 7, 11), (1, 4, 1, 1)])
def test_matches_algorithm_1_in_channels_last(dtype, atol, shape):
    gen = torch.Generator().manual_seed(1)
    c = shape[1]
    grn = create("grn", channels=c).to(dtype)
    _randomize(grn, gen)
    x = 2 * torch.randn(shape, generator=gen, dtype=dtype) - 1
    ref = _algorithm1_channels_last(x.permute(0, 2, 3, 1), grn.gamma.reshape(1, 1, 1, c), grn.beta.reshape(1, 1, 1, c))
    torch.testing.assert_close(grn(x), ref.permute(0, 3, 1, 2), rtol=atol, atol=atol)


def test_gradients_match_algorithm_1():
    gen = torch.Generator().manual_seed(2)
    grn = create("grn", channels=6).double()
    _randomize(grn, gen)
    x = torch.randn(2, 6, 5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 6, 5, 4, generator=gen, dtype=torch.float64)
    ours = torch.autograd.grad((grn(x) * g).sum(), (x, grn.gamma, grn.beta))
    ref_out = _algorithm1_channels_last(x.permute(0, 2, 3, 1), grn.gamma.reshape(1, 1, 1, 6),
                                        grn.beta.reshape(1, 1, 1, 6)).permute(0, 3, 1, 2)
    ref = torch.autograd.grad((ref_out * g).sum(), (x, grn.gamma, grn.beta))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_calibration_is_the_relative_channel_norm():
    # Eq. 1-3: with gamma = 1, beta = 0 each channel is multiplied by 1 + ||X_i|| / mean_j ||X_j||; the
    # factors average to 2 over the channels (N averages to 1), so strong channels grow and weak ones shrink.
    gen = torch.Generator().manual_seed(3)
    scale = torch.tensor([0.1, 0.5, 1.0, 4.0], dtype=torch.float64)[:, None, None]
    x = torch.randn(1, 4, 6, 6, generator=gen, dtype=torch.float64) * scale
    grn = create("grn", channels=4, eps=0.0).double()
    with torch.no_grad():
        grn.gamma.fill_(1.0)
    factor = (grn(x) / x).reshape(4, -1)
    assert torch.allclose(factor, factor[:, :1].expand_as(factor))  # one factor per channel
    norms = x.reshape(4, -1).norm(dim=1)
    torch.testing.assert_close(factor[:, 0], 1 + norms / norms.mean(), rtol=0, atol=1e-12)
    torch.testing.assert_close(factor[:, 0].mean(), torch.tensor(2.0, dtype=torch.float64), rtol=0, atol=1e-12)
    assert factor[0, 0] < 1.5 < factor[3, 0]  # weaker than average -> N < 1, stronger -> N > 1


def test_normalization_ignores_the_overall_scale_of_a_sample():
    # Eq. 2 is divisive: scaling a whole sample by s leaves N(G(X)) unchanged (eps = 0), so the output
    # scales by s too when beta = 0.
    gen = torch.Generator().manual_seed(4)
    grn = create("grn", channels=8, eps=0.0).double()
    _randomize(grn, gen)
    with torch.no_grad():
        grn.beta.zero_()
    x = torch.randn(2, 8, 5, 5, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(grn(7.5 * x), 7.5 * grn(x), rtol=1e-12, atol=1e-12)


def test_samples_are_independent():
    gen = torch.Generator().manual_seed(5)
    grn = create("grn", channels=16)
    _randomize(grn, gen)
    x = torch.randn(4, 16, 6, 6, generator=gen)
    other = x.clone()
    other[1:] = 30 * torch.randn(3, 16, 6, 6, generator=gen)
    torch.testing.assert_close(grn(other)[0], grn(x)[0], rtol=0, atol=1e-6)


def test_low_precision_inputs():
    gen = torch.Generator().manual_seed(6)
    grn = create("grn", channels=32)
    _randomize(grn, gen)
    x = 50 * torch.randn(2, 32, 64, 64, generator=gen)  # sum of squares ~1e7: would overflow a float16 sum
    expected = grn(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = grn(x.to(dtype))
        assert y.dtype == dtype and torch.isfinite(y).all()
        torch.testing.assert_close(y.float(), expected, rtol=0.02, atol=0.5)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        create("grn", channels=0)
    with pytest.raises(ValueError, match="eps"):
        create("grn", channels=4, eps=-1.0)
    grn = create("grn", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        grn(torch.randn(2, 5, 3, 3))
    with pytest.raises(ValueError, match="spatial"):
        grn(torch.randn(2, 4))
    with pytest.raises(ValueError, match="floating-point"):
        grn(torch.ones(2, 4, 3, 3, dtype=torch.long))
