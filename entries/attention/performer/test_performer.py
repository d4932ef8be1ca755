"""What is special about Performer / FAVOR+ (the generic suite covers shapes, gradients and claims).

Checks: the positive random features are unbiased for the softmax kernel with the MSE that Lemma 1's estimator
has in closed form; orthogonal directions (Sec. 2.4) lower that error; the error of the attention estimate
falls as m grows; the cost is linear in L; the random matrix is reproducible from its seed.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module
from encyclo.measure.counting import count_ops


def _macs(length: int, d: int = 512, h: int = 8, m: int = 256, causal: bool = False) -> int:
    return count_ops(lambda: create("performer", dim=d, num_heads=h, num_features=m, causal=causal),
                     lambda device: (torch.randn(1, length, d, device=device),), per_module=False).macs


def macs_ratio_when_L_doubles() -> float:
    """Claim: MACs at L = 2048 over MACs at L = 1024 (D = 512, h = 8, m = 256)."""
    return _macs(2048) / _macs(1024)


def _pair(d: int = 16, norm: float = 0.6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(2, d, generator=g, dtype=torch.float64)
    return x / x.norm() * norm, y / y.norm() * norm


def _prf_estimates(x, y, w):
    """Lemma 1 estimator of exp(x^T y): mean_i exp(w_i^T x - |x|^2/2) exp(w_i^T y - |y|^2/2), w: (..., m, d)."""
    fx = torch.exp(w @ x - 0.5 * x.square().sum())
    fy = torch.exp(w @ y - 0.5 * y.square().sum())
    return (fx * fy).mean(-1)


def prf_mse_over_closed_form() -> float:
    """Claim: empirical MSE of the positive (i.i.d.) estimator of exp(x^T y) over the closed form
    (1/m) exp(|x+y|^2) SM(x, y)^2 (1 - exp(-|x+y|^2)), from 40,000 independent draws of m = 8 features."""
    x, y = _pair()
    m, trials = 8, 40000
    w = torch.randn(trials, m, x.numel(), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sm = torch.exp(x @ y)
    mse = (_prf_estimates(x, y, w) - sm).square().mean()
    s = (x + y).square().sum()
    closed = torch.exp(s) * sm**2 * (1 - torch.exp(-s)) / m
    return float(mse / closed)


def orthogonal_features_lower_mse() -> bool:
    """Claim: with m = d directions, orthogonal (Sec. 2.4) beat i.i.d. directions in MSE (10,000 draws each)."""
    gorm = module("performer").gaussian_orthogonal_random_matrix
    x, y = _pair(norm=1.0)
    d, trials = x.numel(), 10000
    g = torch.Generator().manual_seed(2)
    iid = torch.randn(trials, d, d, generator=g, dtype=torch.float64)
    ort = gorm(trials * d, d, g, dtype=torch.float64).view(trials, d, d)  # one orthogonal block per draw
    sm = torch.exp(x @ y)
    mse = lambda w: (_prf_estimates(x, y, w) - sm).square().mean()  # noqa: E731
    return bool(mse(ort) < mse(iid))


def _attention_error(m: int, seeds=range(4)) -> float:
    """Mean |FAVOR+ - exact softmax attention| over random q, k, v (d = 16, L = 128) and several draws."""
    la = module("performer")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 128, 16, generator=g, dtype=torch.float64) * 0.7 for _ in range(3))
    exact = F.scaled_dot_product_attention(q, k, v)
    errs = [(la.favor_attention(q, k, v, la.gaussian_orthogonal_random_matrix(m, 16, torch.Generator().manual_seed(s),
                                                                                dtype=torch.float64)) - exact).abs().mean()
            for s in seeds]
    return float(torch.stack(errs).mean())


def attention_error_decreases_with_m() -> bool:
    """Claim: the mean absolute error of FAVOR+ against exact softmax attention falls strictly for m = 8 .. 512."""
    errs = [_attention_error(m) for m in (8, 32, 128, 512)]
    return all(a > b for a, b in zip(errs, errs[1:]))


def test_closed_form_mse_and_unbiasedness():
    assert abs(prf_mse_over_closed_form() - 1.0) < 0.05
    x, y = _pair()
    w = torch.randn(200000, x.numel(), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    est = _prf_estimates(x, y, w)  # one estimate with m = 200,000: unbiased, so close to exp(x^T y)
    assert abs(float(est / torch.exp(x @ y)) - 1) < 0.01


def test_orthogonal_directions_are_orthogonal_and_reproducible():
    gorm = module("performer").gaussian_orthogonal_random_matrix
    w = gorm(40, 16, torch.Generator().manual_seed(0), dtype=torch.float64)
    for block in (w[:16], w[16:32]):
        u = block / block.norm(dim=1, keepdim=True)
        torch.testing.assert_close(u @ u.T, torch.eye(16, dtype=torch.float64))
    torch.testing.assert_close(w, gorm(40, 16, torch.Generator().manual_seed(0), dtype=torch.float64))
    a, b = create("performer", dim=64, num_heads=4, seed=5), create("performer", dim=64, num_heads=4, seed=5)
    assert torch.equal(a.projection, b.projection)
    assert not torch.equal(a.projection, create("performer", dim=64, num_heads=4, seed=6).projection)
    before = a.projection.clone()
    a.redraw_features()
    assert not torch.equal(before, a.projection) and a.projection.shape == (256, 16)
    b.redraw_features()
    assert torch.equal(a.projection, b.projection)  # redraws are reproducible too
    assert "projection" in a.state_dict()


def test_orthogonal_beats_iid_and_error_falls_with_m():
    assert orthogonal_features_lower_mse()
    assert _attention_error(512) < 0.5 * _attention_error(8)


def test_module_is_favor_of_its_projections_and_converges_to_softmax():
    torch.manual_seed(0)
    m = create("performer", dim=32, num_heads=4, num_features=4096).double().eval()
    x = torch.randn(2, 20, 32, dtype=torch.float64) * 0.5
    split = lambda t: t.view(2, 20, 4, 8).transpose(1, 2)  # noqa: E731
    q, k, v = split(m.q_proj(x)), split(m.k_proj(x)), split(m.v_proj(x))
    exact = m.out_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 20, 32))
    assert (m(x) - exact).abs().max() < 0.05  # many features: close to exact softmax attention


def test_causal_prefix_sums_match_masked_quadratic_form():
    la = module("performer")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 12, 8, generator=g, dtype=torch.float64) for _ in range(3))
    w = la.gaussian_orthogonal_random_matrix(32, 8, g, dtype=torch.float64)
    qp = la.positive_random_features(q * 8**-0.25, w, is_query=True)
    kp = la.positive_random_features(k * 8**-0.25, w, is_query=False)
    a = (qp @ kp.transpose(-2, -1)).tril()  # the L x L matrix FAVOR+ never forms, masked
    torch.testing.assert_close(la.favor_attention(q, k, v, w, causal=True), (a @ v) / a.sum(-1, keepdim=True))
    a = qp @ kp.transpose(-2, -1)
    torch.testing.assert_close(la.favor_attention(q, k, v, w), (a @ v) / a.sum(-1, keepdim=True))


def test_cost_is_linear_in_length():
    macs = [_macs(n, d=64, h=4, m=32) for n in (100, 200, 400)]
    assert macs[1] == 2 * macs[0] and macs[2] == 2 * macs[1]
    causal = [_macs(n, d=64, h=4, m=32, causal=True) for n in (100, 200)]
    assert causal[1] == 2 * causal[0]


def test_low_precision_close_to_float32():
    m = create("performer", dim=64, num_heads=4, num_features=64).eval()
    x = torch.randn(2, 50, 64, generator=torch.Generator().manual_seed(0))
    ref = m(x)
    for dtype in (torch.bfloat16, torch.float16):
        out = m.to(dtype)(x.to(dtype))
        assert out.dtype == dtype and torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)
        m.float()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("performer", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("performer", dim=32, num_features=0)
    with pytest.raises(ValueError):
        create("performer", dim=32)(torch.randn(2, 5, 16))
    assert math.isfinite(macs_ratio_when_L_doubles())
