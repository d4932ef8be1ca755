"""Linformer self-attention (Wang, Li, Khabsa, Fang, Ma: "Linformer: Self-Attention with Linear Complexity",
arXiv:2006.04768, 2020).

Sec. 3 shows that the context mapping softmax(Q K^T / sqrt(d)) is approximately low rank; Sec. 4 (Eq. 7)
projects the n keys and values along the sequence to k << n rows with learned matrices E_i, F_i before
attending: head_i = Attention(Q W_i^Q, E_i K W_i^K, F_i V W_i^V), an n x k attention map instead of n x n,
linear in n at fixed k. E and F have one column per position, so the module needs the maximum sequence
length n (``seq_len``) at construction; shorter sequences use the first L columns, as the authors' code does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SHARING = ("none", "headwise", "kv")


class Linformer(nn.Module):
    """Multi-head self-attention with keys and values projected along the sequence to k rows (Eq. 7).

    Parameter sharing (Sec. 4, "Parameter sharing between projections"):

    - ``none``: every head i has its own E_i and F_i, ``E``/``F`` of shape (h, k, n);
    - ``headwise``: E_i = E, F_i = F for all heads, (1, k, n) each (the default);
    - ``kv``: key-value sharing, E_i = F_i = E for all heads, one (1, k, n) matrix.

    The paper's fourth level, layerwise sharing (one E for all layers), is a property of the network: pass the
    same parameter to every layer (``layer.E = shared`` after construction, with ``sharing="kv"``).

    Args:
        dim: the model width D.
        seq_len: n, the maximum sequence length (the number of columns of E and F).
        k: the projected length (rows of E and F); must be positive.
        num_heads: the number of heads h; must divide ``dim``.
        sharing: ``"none"``, ``"headwise"`` or ``"kv"``, see above.
        bias: add a bias to the Q, K, V and output projections (as ``torch.nn.MultiheadAttention``).
        dropout: dropout on the n x k attention weights during training.

    Shape:
        - Input: (N, L, D) with L <= seq_len
        - Output: (N, L, D)

    Examples:
        >>> attn = Linformer(256, seq_len=1024, k=64)
        >>> attn(torch.randn(2, 1000, 256)).shape
        torch.Size([2, 1000, 256])
    """

    def __init__(self, dim: int, seq_len: int = 4096, k: int = 256, num_heads: int = 8, sharing: str = "headwise",
                 bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        if seq_len < 1 or k < 1:
            raise ValueError(f"seq_len and k must be positive, got {seq_len} and {k}")
        if sharing not in SHARING:
            raise ValueError(f"sharing must be one of {SHARING}, got {sharing!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.dim, self.seq_len, self.k, self.num_heads = dim, seq_len, k, num_heads
        self.head_dim, self.sharing, self.dropout = dim // num_heads, sharing, dropout
        self.q_proj = nn.Linear(dim, dim, bias=bias)  # W^Q_1..h stacked
        self.k_proj = nn.Linear(dim, dim, bias=bias)  # W^K_1..h
        self.v_proj = nn.Linear(dim, dim, bias=bias)  # W^V_1..h
        self.out_proj = nn.Linear(dim, dim, bias=bias)  # W^O
        heads = num_heads if sharing == "none" else 1
        self.E = nn.Parameter(torch.empty(heads, k, seq_len))  # E_i: k x n (Eq. 7), (h or 1, k, n)
        self.F = nn.Parameter(torch.empty(heads, k, seq_len)) if sharing != "kv" else None  # F_i = E_i for "kv"
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform E and F with gain 1/sqrt(2), as the authors' code (fairseq) initialises them."""
        bound = math.sqrt(6.0 / (self.k + self.seq_len)) / math.sqrt(2.0)
        nn.init.uniform_(self.E, -bound, bound)
        if self.F is not None:
            nn.init.uniform_(self.F, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Linformer self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D), L <= ``seq_len``.

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        if length > self.seq_len:
            raise ValueError(f"sequence length {length} exceeds seq_len={self.seq_len}: E and F have one column per "
                             f"position (Eq. 7); build the module with seq_len >= {length}")
        split = lambda t: t.view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731 (N, h, L, d)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        e = self.E[:, :, :length]  # (h|1, k, L): the first L columns for a shorter sequence (authors' code)
        f = self.F[:, :, :length] if self.F is not None else e  # key-value sharing: F = E
        k_bar = torch.matmul(e.to(k.dtype), k)  # E_i K W_i^K: (N, h, k, d)
        v_bar = torch.matmul(f.to(v.dtype), v)  # F_i V W_i^V: (N, h, k, d)
        # Eq. 7-8: softmax(Q W_i^Q (E_i K W_i^K)^T / sqrt(d_k)) F_i V W_i^V, an (L x k) context map per head.
        heads = F.scaled_dot_product_attention(q, k_bar, v_bar, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(heads.transpose(1, 2).reshape(n, length, self.dim))  # concat, W^O: (N, L, D)

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, seq_len={self.seq_len}, k={self.k}, num_heads={self.num_heads}, "
                f"sharing={self.sharing!r}")
