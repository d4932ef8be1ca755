"""What is special about multi-query attention (the generic suite covers shapes, gradients and claims).

Parity: against ``torch.nn.MultiheadAttention`` whose h key heads (and value heads) are all set to the one shared
head -- multi-query attention is exactly that constrained multi-head attention -- and against a per-head loop.
"""

import pytest
import torch
from torch import nn

from encyclo import create

SHAPES = [(1, 1, 8, 1), (2, 7, 16, 4), (3, 20, 64, 8), (2, 13, 48, 12)]  # (N, L, D, h)
TOLS = [(torch.float32, 1e-5), (torch.float64, 1e-12)]


def kv_projection_reduction() -> float:
    """Claim: K/V projection weights of multi-head attention over those of multi-query attention (D=512, h=8)."""
    mha = create("multi_head_attention", dim=512, num_heads=8, bias=False)
    mqa = create("multi_query_attention", dim=512, num_heads=8, bias=False)
    kv = lambda m: m.k_proj.weight.numel() + m.v_proj.weight.numel()  # noqa: E731
    return kv(mha) / kv(mqa)


def equals_mha_with_one_head() -> bool:
    """Claim: with h = 1, multi-query attention computes multi-head attention (weights copied)."""
    torch.manual_seed(0)
    mqa = create("multi_query_attention", dim=64, num_heads=1).double().eval()
    mha = create("multi_head_attention", dim=64, num_heads=1).double().eval()
    mha.load_state_dict(mqa.state_dict())  # same names, same shapes when h = 1
    x = torch.randn(2, 11, 64, dtype=torch.float64)
    with torch.no_grad():
        return torch.allclose(mqa(x), mha(x), atol=1e-12, rtol=1e-12) and torch.allclose(
            mqa(x, causal=True), mha(x, causal=True), atol=1e-12, rtol=1e-12)


def _pair(d: int, h: int, dtype: torch.dtype):
    """An MQA module with random non-zero biases, and torch's MHA with every K/V head set to MQA's one head."""
    torch.manual_seed(0)
    ours = create("multi_query_attention", dim=d, num_heads=h).to(dtype).eval()
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ref = nn.MultiheadAttention(d, h, batch_first=True, dtype=dtype).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight.repeat(h, 1),
                                            ours.v_proj.weight.repeat(h, 1)]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias.repeat(h), ours.v_proj.bias.repeat(h)]))
        ref.out_proj.load_state_dict(ours.out_proj.state_dict())
    return ours, ref


def _tokens(n, length, d, dtype):
    return torch.randn(n, length, d, generator=torch.Generator().manual_seed(1), dtype=dtype)


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("shape", SHAPES)
def test_equals_torch_mha_with_shared_kv_heads(shape, dtype, tol):
    n, length, d, h = shape
    ours, ref = _pair(d, h, dtype)
    x = _tokens(n, length, d, dtype)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0], atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype,tol", TOLS)
def test_masks_follow_torch_conventions(dtype, tol):
    n, length, d, h = 2, 9, 32, 4
    ours, ref = _pair(d, h, dtype)
    x = _tokens(n, length, d, dtype)
    pad = torch.zeros(n, length, dtype=torch.bool)
    pad[0, 5:] = True
    future = torch.ones(length, length, dtype=torch.bool).triu(1)
    per_head = torch.randn(n * h, length, length, dtype=dtype)
    with torch.no_grad():
        for kwargs, theirs in [({"key_padding_mask": pad}, {"key_padding_mask": pad}),
                               ({"causal": True}, {"attn_mask": future}),
                               ({"key_padding_mask": pad, "causal": True}, {"key_padding_mask": pad, "attn_mask": future}),
                               ({"attn_mask": per_head}, {"attn_mask": per_head})]:
            torch.testing.assert_close(ours(x, **kwargs), ref(x, x, x, need_weights=False, **theirs)[0],
                                       atol=tol, rtol=tol)


def test_every_head_reads_the_same_keys_and_values():
    # head_i = softmax(q_i K^T / sqrt(d_k)) V with one K = X W^K and V = X W^V for all i, written per head.
    d, h = 24, 3
    m = create("multi_query_attention", dim=d, num_heads=h).double().eval()
    x = _tokens(2, 6, d, torch.float64)
    dk = d // h
    k, v = m.k_proj(x), m.v_proj(x)  # (N, L, d_k): the one key head, the one value head
    heads = []
    for i in range(h):
        q = x @ m.q_proj.weight[i * dk:(i + 1) * dk].T + m.q_proj.bias[i * dk:(i + 1) * dk]
        heads.append(torch.softmax(q @ k.transpose(1, 2) / dk ** 0.5, dim=-1) @ v)
    torch.testing.assert_close(m(x), m.out_proj(torch.cat(heads, dim=-1)))


def test_kv_cache_and_projections_shrink_by_h():
    for h in (1, 4, 8, 16):
        mqa = create("multi_query_attention", dim=256, num_heads=h)
        mha = create("multi_head_attention", dim=256, num_heads=h)
        assert mqa.kv_size_per_token() * h == 2 * 256  # multi-head caches K and V of width D per token
        assert (mha.k_proj.weight.numel() + mha.v_proj.weight.numel()
                == h * (mqa.k_proj.weight.numel() + mqa.v_proj.weight.numel()))


def test_macs_save_only_the_kv_projections():
    from encyclo.measure.counting import count_ops

    L, d, h = 50, 64, 8
    count = lambda name: count_ops(lambda: create(name, dim=d, num_heads=h),  # noqa: E731
                                   lambda device: (torch.randn(1, L, d, device=device),), per_module=False).macs
    assert count("multi_head_attention") - count("multi_query_attention") == 2 * L * d * (d - d // h)


def test_causal_output_ignores_the_future():
    m = create("multi_query_attention", dim=32, num_heads=4).eval()
    x = _tokens(1, 10, 32, torch.float32)
    changed = x.clone()
    changed[:, 6:] = torch.randn(1, 4, 32)
    torch.testing.assert_close(m(changed, causal=True)[:, :6], m(x, causal=True)[:, :6])


def test_low_precision_close_to_float32():
    m = create("multi_query_attention", dim=64, num_heads=8).eval()
    x = _tokens(2, 16, 64, torch.float32)
    for dtype in (torch.bfloat16, torch.float16):
        out = m.to(dtype)(x.to(dtype))
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), m.float()(x), atol=3e-2, rtol=3e-2)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("multi_query_attention", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("multi_query_attention", dim=32, dropout=-0.1)
    m = create("multi_query_attention", dim=32, num_heads=4)
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 16))
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 32), attn_mask=torch.zeros(3, 5, 5))
