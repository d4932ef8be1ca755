"""What is special about linear attention (the generic suite covers shapes, gradients and claims).

Checks: the right-to-left product equals the quadratic form phi(Q) phi(K)^T V normalised by its row sums
(Eq. 4-6); the cumulative-sum causal form equals the masked quadratic form and the step-by-step RNN of
Sec. 3.4; the cost is linear in L.
"""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module
from encyclo.measure.counting import count_ops


def _macs(length: int, causal: bool = False, d: int = 512, h: int = 8) -> int:
    return count_ops(lambda: create("linear_attention", dim=d, num_heads=h, causal=causal),
                     lambda device: (torch.randn(1, length, d, device=device),), per_module=False).macs


def macs_ratio_when_L_doubles() -> float:
    """Claim: MACs at L = 2048 over MACs at L = 1024 (D = 512, h = 8)."""
    return _macs(2048) / _macs(1024)


def _quadratic(q, k, v, causal, eps=1e-6):
    """Eq. 3-4 written with the L x L similarity matrix phi(Q) phi(K)^T (the form linear attention avoids)."""
    sim = q @ k.transpose(-2, -1)  # (..., L, L), non-negative
    if causal:
        sim = sim.masked_fill(~torch.ones(sim.shape[-2:], dtype=torch.bool).tril(), 0.0)  # j <= i only
    return (sim @ v) / (sim.sum(-1, keepdim=True) + eps)


def _qkv(shape=(2, 3, 17, 8), dv=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    phi = module("linear_attention").elu_feature_map
    q = phi(torch.randn(*shape, generator=g, dtype=torch.float64))
    k = phi(torch.randn(*shape, generator=g, dtype=torch.float64))
    v = torch.randn(*shape[:-1], dv, generator=g, dtype=torch.float64)
    return q, k, v


@pytest.mark.parametrize("causal", [False, True])
def test_linear_form_equals_quadratic_form(causal):
    q, k, v = _qkv()
    la = module("linear_attention").linear_attention
    torch.testing.assert_close(la(q, k, v, causal=causal), _quadratic(q, k, v, causal))


def test_causal_cumsum_equals_the_rnn_recurrence():
    # Sec. 3.4: S_i = S_{i-1} + phi(K_i) V_i^T, Z_i = Z_{i-1} + phi(K_i), V'_i = phi(Q_i)^T S_i / phi(Q_i)^T Z_i,
    # stepped through time here (reference only; the module uses cumulative sums).
    q, k, v = _qkv((2, 11, 6), dv=4)
    s = torch.zeros(2, 6, 4, dtype=torch.float64)
    z = torch.zeros(2, 6, dtype=torch.float64)
    outs = []
    for i in range(q.shape[-2]):
        s = s + k[:, i, :, None] * v[:, i, None, :]
        z = z + k[:, i]
        outs.append(torch.einsum("nd,nde->ne", q[:, i], s) / ((q[:, i] * z).sum(-1, keepdim=True) + 1e-6))
    torch.testing.assert_close(module("linear_attention").linear_attention(q, k, v, causal=True), torch.stack(outs, 1))


def test_feature_map_is_elu_plus_one_and_positive():
    x = torch.linspace(-20, 5, 101, dtype=torch.float64)
    phi = module("linear_attention").elu_feature_map(x)
    torch.testing.assert_close(phi, torch.where(x > 0, x + 1, torch.exp(x)))
    assert (phi > 0).all()


def test_module_is_per_head_linear_attention_of_the_projections():
    d, h = 32, 4
    m = create("linear_attention", dim=d, num_heads=h, causal=True).double()
    x = torch.randn(2, 9, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    phi = lambda t: F.elu(t) + 1  # noqa: E731
    heads = []
    for i in range(h):
        rows = slice(i * d // h, (i + 1) * d // h)
        q = phi(x @ m.q_proj.weight[rows].T + m.q_proj.bias[rows])
        k = phi(x @ m.k_proj.weight[rows].T + m.k_proj.bias[rows])
        v = x @ m.v_proj.weight[rows].T + m.v_proj.bias[rows]
        heads.append(_quadratic(q, k, v, causal=True))
    torch.testing.assert_close(m(x), m.out_proj(torch.cat(heads, -1)))


def test_causal_output_ignores_the_future_and_padding_is_ignored():
    m = create("linear_attention", dim=32, num_heads=4, causal=True).eval()
    x = torch.randn(1, 10, 32)
    changed = x.clone()
    changed[:, 6:] = torch.randn(1, 4, 32)
    torch.testing.assert_close(m(changed)[:, :6], m(x)[:, :6])
    m = create("linear_attention", dim=32, num_heads=4).eval()
    pad = torch.zeros(1, 10, dtype=torch.bool)
    pad[:, 7:] = True
    torch.testing.assert_close(m(changed, key_padding_mask=pad)[:, :7], m(changed[:, :7]), atol=1e-5, rtol=1e-5)


def test_cost_is_linear_in_length():
    macs = [_macs(n, d=64, h=4) for n in (100, 200, 400)]
    assert macs[1] == 2 * macs[0] and macs[2] == 2 * macs[1]
    causal = [_macs(n, causal=True, d=64, h=4) for n in (100, 200)]
    assert causal[1] == 2 * causal[0]
    softmax = [count_ops(lambda: create("multi_head_attention", dim=64, num_heads=4),
                         lambda device, n=n: (torch.randn(1, n, 64, device=device),), per_module=False).macs
               for n in (100, 200)]
    assert softmax[1] > 2 * softmax[0]  # the 2 L^2 D term of softmax attention


def test_low_precision_close_to_float32():
    m = create("linear_attention", dim=64, num_heads=8, causal=True).eval()
    x = torch.randn(2, 64, 64, generator=torch.Generator().manual_seed(0))
    for dtype in (torch.bfloat16, torch.float16):
        out = m.to(dtype)(x.to(dtype))
        assert out.dtype == dtype and torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), m.float()(x), atol=3e-2, rtol=3e-2)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("linear_attention", dim=30, num_heads=8)
    m = create("linear_attention", dim=32, num_heads=4)
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 16))
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 32), key_padding_mask=torch.zeros(2, 5))
