"""What is special about cross-covariance attention (the generic suite covers shapes, gradients and claims).

Checks: the module is the paper's formula per head (L2 normalisation along the tokens, d_h x d_h softmax
map with the temperature, V mixed by it); it matches the authors' reference forward written out; the
attention map does not depend on the number of tokens in size and is invariant to rescaling the input;
the cost is linear in the number of tokens.
"""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create
from encyclo.measure.counting import count_ops


def _macs(length: int, d: int = 384, h: int = 8) -> int:
    return count_ops(lambda: create("xca", dim=d, num_heads=h),
                     lambda device: (torch.randn(1, length, d, device=device),), per_module=False).macs


def macs_ratio_when_L_doubles() -> float:
    """Claim: MACs at N = 3136 (56 x 56 tokens) over N = 1568 (D = 384, h = 8)."""
    return _macs(3136) / _macs(1568)


def _reference(m, x):
    """The authors' XCA.forward (facebookresearch/xcit, xcit.py), transcribed."""
    b, n, c = x.shape
    qkv = m.qkv(x).reshape(b, n, 3, m.num_heads, c // m.num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0].transpose(-2, -1), qkv[1].transpose(-2, -1), qkv[2].transpose(-2, -1)
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    attn = ((q @ k.transpose(-2, -1)) * m.temperature).softmax(dim=-1)
    return m.proj((attn @ v).permute(0, 3, 1, 2).reshape(b, n, c))


def _trained_looking(**kw):
    torch.manual_seed(0)
    m = create("xca", **kw).double().eval()
    with torch.no_grad():
        m.temperature.copy_(torch.rand_like(m.temperature) * 3 + 0.5)
    return m


def test_matches_the_authors_forward():
    m = _trained_looking(dim=48, num_heads=4)
    x = torch.randn(2, 37, 48, dtype=torch.float64)
    torch.testing.assert_close(m(x), _reference(m, x))


def test_module_is_the_formula_per_head():
    # Sec. 3.1: A_XC = softmax(K^T Q / tau) on L2-normalised columns; output = V A_XC, head by head.
    m = _trained_looking(dim=24, num_heads=3)
    x = torch.randn(1, 10, 24, dtype=torch.float64)
    q, k, v = (x @ w.T + b for w, b in zip(m.qkv.weight.chunk(3), m.qkv.bias.chunk(3)))  # (1, N, D) each
    heads = []
    for i in range(3):
        cols = slice(8 * i, 8 * i + 8)
        qh = q[0, :, cols] / q[0, :, cols].norm(dim=0, keepdim=True)  # (N, d_h), unit columns
        kh = k[0, :, cols] / k[0, :, cols].norm(dim=0, keepdim=True)
        a = torch.softmax((kh.T @ qh) * m.temperature[i], dim=0)  # (d_h, d_h), normalised over key channels
        heads.append(v[0, :, cols] @ a)  # V A_XC: (N, d_h)
    torch.testing.assert_close(m(x), m.proj(torch.cat(heads, -1))[None])


def test_map_is_channel_by_channel_and_scale_invariant():
    m = _trained_looking(dim=32, num_heads=4, qkv_bias=False)
    x = torch.randn(2, 50, 32, dtype=torch.float64)
    a = m.attention_map(x)
    assert a.shape == (2, 4, 8, 8)  # d_h x d_h whatever the number of tokens
    assert m.attention_map(torch.randn(2, 500, 32, dtype=torch.float64)).shape == (2, 4, 8, 8)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 4, 8, dtype=torch.float64))
    torch.testing.assert_close(m.attention_map(3.7 * x), a)  # L2 normalisation: the map ignores the scale
    b = m.proj.bias
    torch.testing.assert_close(m(3.7 * x) - b, 3.7 * (m(x) - b))  # so the output is linear in the scale


def test_temperature_sharpens_the_map():
    m = _trained_looking(dim=32, num_heads=4)
    x = torch.randn(1, 20, 32, dtype=torch.float64)
    with torch.no_grad():
        m.temperature.fill_(0.0)
    torch.testing.assert_close(m.attention_map(x), torch.full((1, 4, 8, 8), 1 / 8, dtype=torch.float64))
    with torch.no_grad():
        m.temperature.fill_(1e4)
    assert (m.attention_map(x).amax(-1) > 0.99).all()  # a very low tau: one key channel per query channel


def test_cost_is_linear_in_tokens():
    macs = [_macs(n, d=64, h=4) for n in (100, 200, 400)]
    assert macs[1] == 2 * macs[0] and macs[2] == 2 * macs[1]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("xca", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("xca", dim=32, attn_drop=1.5)
    with pytest.raises(ValueError):
        create("xca", dim=32)(torch.randn(2, 5, 16))
