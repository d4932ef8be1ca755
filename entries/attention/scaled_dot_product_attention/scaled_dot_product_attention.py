"""Scaled dot-product attention (Vaswani et al.: "Attention Is All You Need", NeurIPS 2017, arXiv:1706.03762).

Written out from Sec. 3.2.1, Eq. 1 with two matrix products and a softmax, so that every step of the
equation is visible (and counted): ``softmax(Q K^T / sqrt(d_k)) V``. For production code,
``torch.nn.functional.scaled_dot_product_attention`` computes the same function with fused kernels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def attention_logits(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False,
                     scale: float | None = None) -> torch.Tensor:
    """The softmax input of Eq. 1: ``Q K^T / sqrt(d_k)``, with masked positions set to ``-inf``.

    Args:
        q: queries, (..., L, d_k).
        k: keys, (..., S, d_k).
        mask: optional mask broadcastable to (..., L, S). Boolean: ``True`` marks a key the query may attend
            to (``False`` is set to ``-inf``, Sec. 3.2.3). Floating point: added to the logits. The same
            convention as ``torch.nn.functional.scaled_dot_product_attention``.
        causal: if True, query ``i`` only sees keys ``j <= i`` (the decoder's masking, Sec. 3.2.3).
        scale: the factor applied to ``Q K^T``; ``1 / sqrt(d_k)`` when None (Sec. 3.2.1).

    Returns:
        The logits, (..., L, S), in the dtype of ``q``.

    Shape:
        - q: (..., L, d_k), k: (..., S, d_k)
        - Output: (..., L, S)

    Examples:
        >>> import torch
        >>> attention_logits(torch.randn(2, 5, 16), torch.randn(2, 7, 16)).shape
        torch.Size([2, 5, 7])
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries and keys need the same d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])  # Sec. 3.2.1: "we scale the dot products by 1/sqrt(d_k)"
    logits = torch.matmul(q, k.transpose(-2, -1)) * scale  # Eq. 1: Q K^T / sqrt(d_k), (..., L, S)
    if causal:
        # Sec. 3.2.3: mask out (set to -inf) the connections to subsequent positions.
        allowed = torch.ones(logits.shape[-2:], dtype=torch.bool, device=logits.device).tril()  # (L, S)
        logits = logits.masked_fill(~allowed, float("-inf"))
    if mask is not None:
        if mask.dtype == torch.bool:
            logits = logits.masked_fill(~mask, float("-inf"))
        else:
            logits = logits + mask.to(logits.dtype)  # additive mask, e.g. a relative-position bias
    return logits


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, causal: bool = False,
                                 scale: float | None = None) -> torch.Tensor:
    """Eq. 1: ``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``, with matmul and softmax.

    Computes the same function as ``torch.nn.functional.scaled_dot_product_attention(q, k, v,
    attn_mask=mask, is_causal=causal, scale=scale)`` (without dropout). A query whose keys are all masked
    gets NaN, as softmax over only ``-inf`` does.

    Args:
        q: queries, (..., L, d_k).
        k: keys, (..., S, d_k).
        v: values, (..., S, d_v).
        mask: optional boolean (``True`` = attend) or additive float mask broadcastable to (..., L, S).
        causal: if True, query ``i`` only attends to keys ``j <= i`` (Sec. 3.2.3).
        scale: factor applied to ``Q K^T``; ``1 / sqrt(d_k)`` when None.

    Returns:
        The attention output, (..., L, d_v).

    Shape:
        - q: (..., L, d_k), k: (..., S, d_k), v: (..., S, d_v)
        - Output: (..., L, d_v)

    Examples:
        >>> import torch
        >>> q, k, v = torch.randn(2, 5, 16), torch.randn(2, 7, 16), torch.randn(2, 7, 32)
        >>> scaled_dot_product_attention(q, k, v).shape
        torch.Size([2, 5, 32])
    """
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"keys and values need the same length S, got {k.shape[-2]} and {v.shape[-2]}")
    logits = attention_logits(q, k, mask=mask, causal=causal, scale=scale)  # (..., L, S)
    if logits.dtype in _LOW_PRECISION:
        # Not in the paper: the softmax runs in float32 for float16/bfloat16 inputs (as fused kernels do),
        # then the weights return to the input dtype for the second product.
        weights = torch.softmax(logits, dim=-1, dtype=torch.float32).to(v.dtype)
    else:
        weights = torch.softmax(logits, dim=-1)  # Eq. 1: the weights on the values, rows sum to 1
    return torch.matmul(weights, v)  # Eq. 1: (..., L, d_v)


class ScaledDotProductAttention(nn.Module):
    """Parameter-free self-attention of Eq. 1 with the tokens themselves as Q, K and V.

    Sec. 3.2.1 defines ``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``. This module applies it to a
    sequence of tokens with ``Q = K = V = x`` (a single head, no learned projections: those are what
    multi-head attention, Sec. 3.2.2, adds around this function).

    Args:
        dim: the token width D, which is d_k = d_v here.
        causal: if True, token ``i`` only attends to tokens ``j <= i`` (the decoder's masking, Sec. 3.2.3).

    Shape:
        - Input: (N, L, D)
        - mask (optional): boolean (``True`` = attend) or additive float, broadcastable to (N, L, L)
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> attn = ScaledDotProductAttention(64)
        >>> attn(torch.randn(2, 10, 64)).shape
        torch.Size([2, 10, 64])
    """

    def __init__(self, dim: int, causal: bool = False):
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self.causal = causal
        self.scale = 1.0 / math.sqrt(dim)  # Sec. 3.2.1: 1/sqrt(d_k), d_k = D

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend from every token to every (allowed) token.

        Args:
            x: tokens, (N, L, D).
            mask: optional boolean (``True`` = attend) or additive float mask broadcastable to (N, L, L).

        Returns:
            (N, L, D): each token replaced by the attention-weighted mean of the tokens.
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        return scaled_dot_product_attention(x, x, x, mask=mask, causal=self.causal, scale=self.scale)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, causal={self.causal}"
