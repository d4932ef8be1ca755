"""What is special about scaled dot-product attention (the generic suite covers shapes, gradients and claims).

Parity: Eq. 1 written out with matmul + softmax against torch's independent
``torch.nn.functional.scaled_dot_product_attention``.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module

SHAPES = [(1, 1, 1, 8), (2, 5, 7, 16), (3, 16, 16, 64), (2, 33, 9, 24)]  # (N, L, S, d_k)


def _qkv(n: int, length: int, s: int, d: int, dtype: torch.dtype, heads: int | None = None, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    lead = (n,) if heads is None else (n, heads)
    q = torch.randn(*lead, length, d, generator=gen, dtype=dtype)
    k = torch.randn(*lead, s, d, generator=gen, dtype=dtype)
    v = torch.randn(*lead, s, d + 3, generator=gen, dtype=dtype)  # d_v != d_k is allowed by Eq. 1
    return q, k, v


def _logit_variance(d_k: int, scale: float | None) -> float:
    """Variance of the softmax input for queries and keys with i.i.d. N(0, 1) components (footnote, Sec. 3.2.1)."""
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(1, 2048, d_k, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 2048, d_k, generator=gen, dtype=torch.float64)
    return module("scaled_dot_product_attention").attention_logits(q, k, scale=scale).var().item()


def scaled_logit_variance() -> float:
    """Claim: with the 1/sqrt(d_k) scaling the logits have variance ~1 (here d_k = 512)."""
    return _logit_variance(512, scale=None)


def unscaled_logit_variance() -> float:
    """Claim: the plain dot product q . k of unit-variance components has variance d_k (here 512)."""
    return _logit_variance(512, scale=1.0)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch_sdpa(shape, dtype, tol):
    sdpa = module("scaled_dot_product_attention").scaled_dot_product_attention
    q, k, v = _qkv(*shape, dtype=dtype)
    torch.testing.assert_close(sdpa(q, k, v), F.scaled_dot_product_attention(q, k, v), atol=tol, rtol=tol)
    q, k, v = _qkv(*shape, dtype=dtype, heads=3)  # (N, h, L, d): the batched-heads layout
    torch.testing.assert_close(sdpa(q, k, v), F.scaled_dot_product_attention(q, k, v), atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch_sdpa_with_masks(shape, dtype, tol):
    sdpa = module("scaled_dot_product_attention").scaled_dot_product_attention
    n, length, s, d = shape
    q, k, v = _qkv(*shape, dtype=dtype, heads=2)
    gen = torch.Generator().manual_seed(1)
    torch.testing.assert_close(sdpa(q, k, v, causal=True), F.scaled_dot_product_attention(q, k, v, is_causal=True),
                               atol=tol, rtol=tol)
    allowed = torch.rand(n, 1, length, s, generator=gen) > 0.3
    allowed[..., 0] = True  # every query keeps a key (a fully masked row is NaN in both)
    torch.testing.assert_close(sdpa(q, k, v, mask=allowed), F.scaled_dot_product_attention(q, k, v, attn_mask=allowed),
                               atol=tol, rtol=tol)
    bias = torch.randn(1, 2, length, s, generator=gen, dtype=dtype)  # additive, e.g. a position bias
    torch.testing.assert_close(sdpa(q, k, v, mask=bias), F.scaled_dot_product_attention(q, k, v, attn_mask=bias),
                               atol=tol, rtol=tol)


@pytest.mark.parametrize("causal", [False, True])
def test_module_is_self_attention_of_the_tokens(causal):
    # Q = K = V = x, single head, no projections.
    x = torch.randn(2, 11, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    attn = create("scaled_dot_product_attention", dim=32, causal=causal)
    torch.testing.assert_close(attn(x), F.scaled_dot_product_attention(x, x, x, is_causal=causal))
    keep = torch.rand(2, 11, 11, generator=torch.Generator().manual_seed(1)) > 0.5
    keep |= torch.eye(11, dtype=torch.bool)  # a token may always attend to itself
    expected = F.scaled_dot_product_attention(x, x, x, attn_mask=keep & torch.ones(11, 11, dtype=torch.bool).tril()
                                              if causal else keep)
    torch.testing.assert_close(attn(x, mask=keep), expected)


def test_low_precision_is_close_to_float32():
    x = torch.randn(2, 64, 64, generator=torch.Generator().manual_seed(0))
    attn = create("scaled_dot_product_attention", dim=64)
    for dtype in (torch.bfloat16, torch.float16):
        out = attn(x.to(dtype))
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), attn(x), atol=3e-2, rtol=3e-2)


def test_causal_output_ignores_the_future():
    # Sec. 3.2.3: with the mask, position i depends only on positions <= i.
    x = torch.randn(1, 9, 16, generator=torch.Generator().manual_seed(0))
    attn = create("scaled_dot_product_attention", dim=16, causal=True)
    changed = x.clone()
    changed[:, 5:] = torch.randn(1, 4, 16)
    torch.testing.assert_close(attn(changed)[:, :5], attn(x)[:, :5])


def test_scaling_keeps_logit_variance_at_one_for_every_dk():
    # Footnote of Sec. 3.2.1: q . k has variance d_k; scaling by 1/sqrt(d_k) brings it back to 1.
    for d_k in (16, 64, 256):
        assert _logit_variance(d_k, scale=1.0) == pytest.approx(d_k, rel=0.06)
        assert _logit_variance(d_k, scale=None) == pytest.approx(1.0, rel=0.06)


def test_without_scaling_softmax_saturates():
    # Sec. 3.2.1: for large d_k unscaled dot products push the softmax towards one-hot weights.
    gen = torch.Generator().manual_seed(0)
    d_k = 512
    q, k = torch.randn(1, 256, d_k, generator=gen), torch.randn(1, 256, d_k, generator=gen)
    logits = module("scaled_dot_product_attention").attention_logits
    peak_scaled = logits(q, k).softmax(-1).amax(-1).mean().item()
    peak_unscaled = logits(q, k, scale=1.0).softmax(-1).amax(-1).mean().item()
    assert peak_unscaled > 0.9 and peak_scaled < 0.1
    assert math.isclose(logits(q, k).std().item() * math.sqrt(d_k), logits(q, k, scale=1.0).std().item(), rel_tol=1e-5)


def test_rejects_bad_input():
    attn = create("scaled_dot_product_attention", dim=8)
    with pytest.raises(ValueError):
        attn(torch.randn(2, 5, 7))
    with pytest.raises(ValueError):
        create("scaled_dot_product_attention", dim=0)


class _TorchSDPA(torch.nn.Module):
    def __init__(self, causal: bool):
        super().__init__()
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=self.causal)


def torch_reference(dim: int, causal: bool = False) -> torch.nn.Module:
    """torch.nn.functional.scaled_dot_product_attention on the tokens (bench times it beside this entry)."""
    return _TorchSDPA(causal)
