"""What is special about grouped-query attention (the generic suite covers shapes, gradients and claims).

Sec. 2.2: GQA-1 is multi-query attention and GQA-h is multi-head attention -- checked against those entries with
the weights copied. Sec. 2.1: the conversion of a multi-head checkpoint (``from_mha``) mean-pools K/V heads.
Parity: against ``torch.nn.MultiheadAttention`` whose K/V heads are replicated within each group.
"""

import pytest
import torch
from torch import nn

from encyclo import create, module

SHAPES = [(1, 1, 8, 1, 1), (2, 7, 16, 4, 2), (3, 20, 64, 8, 2), (2, 13, 48, 12, 3)]  # (N, L, D, h, G)
TOLS = [(torch.float32, 1e-5), (torch.float64, 1e-12)]


def _x(n, length, d, dtype=torch.float64):
    return torch.randn(n, length, d, generator=torch.Generator().manual_seed(1), dtype=dtype)


def _randomise(m):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # non-zero biases, so a mis-mapped bias shows
    return m


def kv_cache_reduction() -> float:
    """Claim: per-token K/V size of multi-head attention over that of GQA (D = 512, h = 8, G = 2)."""
    mha = create("multi_head_attention", dim=512, num_heads=8)
    gqa = create("grouped_query_attention", dim=512, num_heads=8, num_kv_heads=2)
    return (mha.k_proj.out_features + mha.v_proj.out_features) / gqa.kv_size_per_token()


def gqa_1_equals_mqa() -> bool:
    """Claim: GQA-1 computes multi-query attention (multi_query_attention entry, same weights)."""
    gqa = _randomise(create("grouped_query_attention", dim=64, num_heads=8, num_kv_heads=1).double().eval())
    mqa = create("multi_query_attention", dim=64, num_heads=8).double().eval()
    mqa.load_state_dict(gqa.state_dict())  # same names and shapes when G = 1
    x = _x(2, 11, 64)
    with torch.no_grad():
        return all(torch.allclose(gqa(x, causal=c), mqa(x, causal=c), atol=1e-12, rtol=1e-12) for c in (False, True))


def gqa_h_equals_mha() -> bool:
    """Claim: GQA-h computes multi-head attention (multi_head_attention entry, same weights)."""
    gqa = _randomise(create("grouped_query_attention", dim=64, num_heads=8, num_kv_heads=8).double().eval())
    mha = create("multi_head_attention", dim=64, num_heads=8).double().eval()
    mha.load_state_dict(gqa.state_dict())  # same names and shapes when G = h
    x = _x(2, 11, 64)
    with torch.no_grad():
        return all(torch.allclose(gqa(x, causal=c), mha(x, causal=c), atol=1e-12, rtol=1e-12) for c in (False, True))


def test_claimed_equivalences_hold_at_other_sizes():
    for d, h in [(16, 1), (48, 12), (32, 4)]:
        x = _x(2, 9, d)
        one = _randomise(create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=1).double().eval())
        mqa = create("multi_query_attention", dim=d, num_heads=h).double().eval()
        mqa.load_state_dict(one.state_dict())
        full = _randomise(create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=h).double().eval())
        mha = create("multi_head_attention", dim=d, num_heads=h).double().eval()
        mha.load_state_dict(full.state_dict())
        with torch.no_grad():
            torch.testing.assert_close(one(x), mqa(x))
            torch.testing.assert_close(full(x), mha(x))


def _torch_reference(gqa):
    """torch.nn.MultiheadAttention with each group's K/V head copied to every query head of the group."""
    h, g, dk = gqa.num_heads, gqa.num_kv_heads, gqa.head_dim
    expand = lambda t: t.view(g, 1, dk, *t.shape[1:]).expand(g, h // g, dk, *t.shape[1:]).reshape(h * dk, *t.shape[1:])  # noqa: E731
    ref = nn.MultiheadAttention(gqa.dim, h, batch_first=True, dtype=gqa.q_proj.weight.dtype).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([gqa.q_proj.weight, expand(gqa.k_proj.weight), expand(gqa.v_proj.weight)]))
        ref.in_proj_bias.copy_(torch.cat([gqa.q_proj.bias, expand(gqa.k_proj.bias), expand(gqa.v_proj.bias)]))
        ref.out_proj.load_state_dict(gqa.out_proj.state_dict())
    return ref


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("shape", SHAPES)
def test_equals_torch_mha_with_kv_heads_shared_in_groups(shape, dtype, tol):
    n, length, d, h, g = shape
    gqa = _randomise(create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=g).to(dtype).eval())
    ref = _torch_reference(gqa)
    x = _x(n, length, d, dtype)
    pad = torch.zeros(n, length, dtype=torch.bool)
    pad[0, length // 2 + 1:] = True
    future = torch.ones(length, length, dtype=torch.bool).triu(1)
    with torch.no_grad():
        torch.testing.assert_close(gqa(x), ref(x, x, x, need_weights=False)[0], atol=tol, rtol=tol)
        torch.testing.assert_close(gqa(x, key_padding_mask=pad, causal=True),
                                   ref(x, x, x, key_padding_mask=pad, attn_mask=future, need_weights=False)[0],
                                   atol=tol, rtol=tol)


def test_from_mha_mean_pools_kv_heads_within_groups():
    # Sec. 2.1: the key/value projection of a group is the mean of its heads' projections; Q and O are copied.
    d, h, g = 32, 8, 2
    mha = _randomise(create("multi_head_attention", dim=d, num_heads=h).double())
    gqa = module("grouped_query_attention").from_mha(mha, num_kv_heads=g)
    dk = d // h
    for i in range(g):
        rows = slice(i * (h // g) * dk, (i + 1) * (h // g) * dk)  # the heads of group i
        expected = mha.k_proj.weight[rows].view(h // g, dk, d).mean(0)
        torch.testing.assert_close(gqa.k_proj.weight[i * dk:(i + 1) * dk], expected)
        torch.testing.assert_close(gqa.v_proj.bias[i * dk:(i + 1) * dk], mha.v_proj.bias[rows].view(h // g, dk).mean(0))
    assert torch.equal(gqa.q_proj.weight, mha.q_proj.weight) and torch.equal(gqa.out_proj.bias, mha.out_proj.bias)


def test_from_mha_with_g_equal_h_is_lossless_and_g1_gives_mqa():
    d, h = 32, 4
    ref = _randomise(nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64)).eval()
    x = _x(2, 7, d)
    from_mha = module("grouped_query_attention").from_mha
    with torch.no_grad():
        torch.testing.assert_close(from_mha(ref, num_kv_heads=h)(x), ref(x, x, x, need_weights=False)[0])
        one = from_mha(ref, num_kv_heads=1)  # MQA: every K/V head averaged into one
        torch.testing.assert_close(one.k_proj.weight, ref.in_proj_weight[d:2 * d].view(h, d // h, d).mean(0))
        # and equals the MHA whose K/V heads are all replaced by their mean
        mean_ref = _torch_reference(one)
        torch.testing.assert_close(one(x), mean_ref(x, x, x, need_weights=False)[0])


def test_from_mha_is_lossless_when_heads_in_a_group_agree():
    # If the heads of each group already share K/V weights, mean-pooling changes nothing.
    d, h, g = 48, 6, 3
    gqa = _randomise(create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=g).double().eval())
    ref = _torch_reference(gqa)
    back = module("grouped_query_attention").from_mha(ref, num_kv_heads=g)
    x = _x(2, 5, d)
    with torch.no_grad():
        torch.testing.assert_close(back(x), gqa(x))


def test_kv_cache_interpolates_between_mqa_and_mha():
    sizes = [create("grouped_query_attention", dim=256, num_heads=8, num_kv_heads=g).kv_size_per_token()
             for g in (1, 2, 4, 8)]
    assert sizes == [2 * 32, 4 * 32, 8 * 32, 16 * 32]


def test_low_precision_close_to_float32():
    m = create("grouped_query_attention", dim=64, num_heads=8, num_kv_heads=2).eval()
    x = _x(2, 16, 64, torch.float32)
    for dtype in (torch.bfloat16, torch.float16):
        out = m.to(dtype)(x.to(dtype))
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), m.float()(x), atol=3e-2, rtol=3e-2)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("grouped_query_attention", dim=64, num_heads=8, num_kv_heads=3)
    with pytest.raises(ValueError):
        create("grouped_query_attention", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        module("grouped_query_attention").from_mha(nn.MultiheadAttention(32, 4), num_kv_heads=3)
    with pytest.raises(ValueError):
        module("grouped_query_attention").from_mha(nn.Linear(3, 3), num_kv_heads=1)
    with pytest.raises(ValueError):
        create("grouped_query_attention", dim=32, num_heads=4)(torch.randn(2, 5, 16))
