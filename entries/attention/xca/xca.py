"""Cross-covariance attention, XCA (El-Nouby, Touvron, Caron, Bojanowski, Douze, Joulin, Laptev, Neverova,
Synnaeve, Verbeek, Jegou: "XCiT: Cross-Covariance Image Transformers", NeurIPS 2021, arXiv:2106.09681).

A "transposed" self-attention (Sec. 3.1): instead of an N x N map between tokens, each head builds a
d_h x d_h map between feature channels from the cross-covariance of the L2-normalised keys and queries,
A_XC(K, Q) = softmax(K^T Q / tau) with a learnable temperature tau per head, and mixes the channels of every
token with it: XC-Attention(Q, K, V) = V A_XC(K, Q). The cost is O(N d^2 / h), linear in the number of
tokens N.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class XCA(nn.Module):
    """Cross-covariance attention over the channels of each head (linear in the number of tokens).

    Matches ``XCA`` of the authors' code: ``qkv`` (D -> 3D, the h heads side by side), per head the queries and
    keys are L2-normalised along the tokens, the d_h x d_h map softmax(Q^ K^T * t) (t = 1 / tau, a learnable
    parameter per head, initialised to 1) mixes the channels of V, and ``proj`` maps back to D.

    Args:
        dim: the token width D.
        num_heads: the number of heads h; must divide ``dim`` (XCiT-S uses 8 heads at D = 384).
        qkv_bias: add a bias to the q, k, v projection (True in all XCiT models of the authors' code).
        attn_drop: dropout on the d_h x d_h attention weights during training.
        proj_drop: dropout on the output during training.

    Shape:
        - Input: (N, L, D)
        - Output: (N, L, D)

    Examples:
        >>> xca = XCA(384, num_heads=8)
        >>> xca(torch.randn(2, 196, 384)).shape
        torch.Size([2, 196, 384])
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        for name, p in (("attn_drop", attn_drop), ("proj_drop", proj_drop)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        # Sec. 3.1: learnable temperature per head; stored as the multiplier 1/tau as in the authors' code.
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))  # (h, 1, 1)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)  # W_q, W_k, W_v stacked
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The per-head channel attention A_XC = softmax(Q^ K^T / tau), (N, h, d_h, d_h) (for inspection)."""
        q, k, _ = self._qkv(x)
        return self._map(q, k)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, length, _ = x.shape
        qkv = self.qkv(x).view(n, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 4, 1).unbind(0)  # each (N, h, d_h, L): channels as rows
        return q, k, v

    def _map(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        q = F.normalize(q, dim=-1)  # Sec. 3.1: L2-normalise each channel of Q along the tokens
        k = F.normalize(k, dim=-1)  # ... and of K: the map is a (cosine) cross-covariance, entries in [-1, 1]
        return torch.softmax(q @ k.transpose(-2, -1) * self.temperature, dim=-1)  # (N, h, d_h, d_h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cross-covariance attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        q, k, v = self._qkv(x)
        attn = self.attn_drop(self._map(q, k))  # A_XC(K, Q): (N, h, d_h, d_h), independent of L in size
        out = attn @ v  # each token's channels mixed by A_XC: (N, h, d_h, L), cost L d_h^2 per head
        out = out.permute(0, 3, 1, 2).reshape(n, length, self.dim)  # concat heads: (N, L, D)
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, head_dim={self.head_dim}"
