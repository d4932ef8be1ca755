"""Multi-query attention (Shazeer: "Fast Transformer Decoding: One Write-Head is All You Need", arXiv:1911.02150, 2019).

Multi-head attention with h query heads but a single key head and a single value head, shared by all the
query heads ("the keys and values are shared across all of the different attention heads", abstract). The
query projection (h heads of D x d_k) and the output projection are those of multi-head attention; the key and
value projections are one D x d_k matrix each, so they and the key/value cache of incremental decoding shrink
by a factor h. The attention itself is
``torch.nn.functional.scaled_dot_product_attention`` with ``enable_gqa=True``, which broadcasts the one
key/value head over the h query heads without copying it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiQueryAttention(nn.Module):
    """``Concat(head_1, ..., head_h) W^O`` with ``head_i = Attention(X W^Q_i, X W^K, X W^V)``: one shared K and V.

    Weights: ``q_proj`` (D -> h d_k, the h query heads side by side, as in multi-head attention), ``k_proj``
    (D -> d_k) and ``v_proj`` (D -> d_v), a single head each, and ``out_proj`` (h d_v -> D); d_k = d_v = D / h.

    Args:
        dim: the model width D (d in the paper).
        num_heads: the number of query heads h; must divide ``dim``.
        bias: add a bias to the four projections (True, as ``torch.nn.MultiheadAttention``; the paper's
            projections are matrices only).
        dropout: dropout probability on the attention weights during training.

    Shape:
        - Input: (N, L, D)
        - key_padding_mask (optional): (N, L), boolean ``True`` = padding, or additive float
        - attn_mask (optional): (L, L) or (N * h, L, L), boolean ``True`` = not allowed, or additive float
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> mqa = MultiQueryAttention(512, num_heads=8)  # 8 query heads, one 64-wide K and V head
        >>> mqa(torch.randn(2, 10, 512)).shape
        torch.Size([2, 10, 512])
    """

    def __init__(self, dim: int, num_heads: int = 8, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim}): d_k = D / h")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(dim, dim, bias=bias)  # W^Q_1..h: h query heads, (h d_k) x D
        self.k_proj = nn.Linear(dim, self.head_dim, bias=bias)  # W^K: one key head shared by all, d_k x D
        self.v_proj = nn.Linear(dim, self.head_dim, bias=bias)  # W^V: one value head shared by all, d_v x D
        self.out_proj = nn.Linear(dim, dim, bias=bias)  # W^O: (h d_v) -> D
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform projections and zero biases with multi-head attention's bound (the paper states no
        initialisation)."""
        bound = (6.0 / (4 * self.dim)) ** 0.5  # as torch.nn.MultiheadAttention's packed (3D, D) matrix
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.uniform_(proj.weight, -bound, bound)
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """Multi-query self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).
            key_padding_mask: optional (N, L); ``True`` (bool) marks padding keys; a float mask is added.
            attn_mask: optional (L, L) or (N * num_heads, L, L); ``True`` (bool) forbids a pair; float is added.
            causal: if True, token ``i`` attends only to tokens ``j <= i`` (the paper's decoder self-attention).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        q = self.q_proj(x).view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # (N, h, L, d_k)
        k = self.k_proj(x).unsqueeze(1)  # the single key head: (N, 1, L, d_k)
        v = self.v_proj(x).unsqueeze(1)  # the single value head: (N, 1, L, d_v)
        mask = _merge_masks(key_padding_mask, attn_mask, causal, n, self.num_heads, length, x)
        # Every query head attends over the same keys and values; enable_gqa lets the kernel read the one K/V head for all h heads. (N, h, L, d_v).
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training
                                               else 0.0, is_causal=causal and mask is None, enable_gqa=True)
        return self.out_proj(heads.transpose(1, 2).reshape(n, length, self.dim))  # concat heads, W^O: (N, L, D)

    def kv_size_per_token(self) -> int:
        """Numbers stored per token in a decoding key/value cache: d_k + d_v (h (d_k + d_v) for multi-head)."""
        return 2 * self.head_dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, head_dim={self.head_dim}, dropout={self.dropout}"


def _merge_masks(key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None, causal: bool, n: int,
                 num_heads: int, length: int, x: torch.Tensor) -> torch.Tensor | None:
    """One additive mask for ``F.scaled_dot_product_attention`` from torch.nn.MultiheadAttention's conventions."""
    if key_padding_mask is None and attn_mask is None:
        return None  # the causal case alone goes to the kernel's is_causal
    additive = torch.zeros((), dtype=x.dtype, device=x.device)  # () broadcasts to (N, h, L, L)
    if key_padding_mask is not None:
        if key_padding_mask.shape != (n, length):
            raise ValueError(f"key_padding_mask must be (N, L) = {(n, length)}, got {tuple(key_padding_mask.shape)}")
        additive = additive + _to_additive(key_padding_mask, x.dtype)[:, None, None, :]  # (N, 1, 1, L)
    if attn_mask is not None:
        if attn_mask.shape == (length, length):
            attn = attn_mask
        elif attn_mask.shape == (n * num_heads, length, length):
            attn = attn_mask.view(n, num_heads, length, length)
        else:
            raise ValueError(f"attn_mask must be (L, L) or (N * num_heads, L, L), got {tuple(attn_mask.shape)}")
        additive = additive + _to_additive(attn, x.dtype)
    if causal:
        future = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)  # (L, L)
        additive = additive + _to_additive(future, x.dtype)
    return additive


def _to_additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """bool ``True`` -> ``-inf`` (masked out); float -> as is (torch.nn.MultiheadAttention's convention)."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)
