"""Criss-cross attention (Huang, Wang, Huang, Huang, Wei, Liu: "CCNet: Criss-Cross Attention for Semantic
Segmentation", ICCV 2019, arXiv:1811.11721).

The criss-cross attention module of Sec. 3.2, optionally applied recurrently with shared weights (the
recurrent criss-cross attention, RCCA, of Sec. 3.3), as a C -> C block.
"""

from __future__ import annotations

import torch
from torch import nn


class CrissCrossAttention(nn.Module):
    """Criss-cross attention: each position attends to the H + W - 1 positions in its row and column.

    Sec. 3.2: 1x1 convolutions give queries Q and keys K (C' = C / 8 channels) and values V (C channels).
    For position u, the *affinity* d_{i,u} = Q_u . Omega_{i,u} compares the query with the keys at the
    H + W - 1 positions of u's row and column (Eq. 1); a softmax over them gives the attention A, and the
    *aggregation* H'_u = gamma * sum_i A_{i,u} Phi_{i,u} + H_u sums the values on the same criss-cross
    path (Eq. 2), with a learnable scalar gamma initialised to 0. Sec. 3.3: applying the module R times
    with shared weights (R = 2 in the paper) connects every position to every other.

    Vectorised as in the pure-PyTorch port Serge-weihao/CCNet-Pure-Pytorch (the authors' release uses a CUDA
    kernel, ``ca_weight`` / ``ca_map``, with the same H + W - 1 layout): the column affinities (H per position) and the
    row affinities (W per position) are two einsums; position u itself appears in both, so its column
    entry is set to -inf before the joint softmax over H + W logits, leaving H + W - 1 distinct positions.

    Args:
        channels: number of input (and output) channels C.
        reduction: query/key width C' = C / reduction (8 in the authors' code).
        recurrence: number R of times the module is applied, with shared weights (Sec. 3.3). The default 1
            is a single criss-cross attention module; the paper's RCCA uses R = 2.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> cca = CrissCrossAttention(64)
        >>> x = torch.randn(2, 64, 9, 13)
        >>> torch.equal(cca(x), x)  # gamma = 0: the identity at initialisation
        True
        >>> cca.attention(x).shape  # H + W logits per position, the duplicate of u masked out
        torch.Size([2, 9, 13, 22])
    """

    def __init__(self, channels: int, reduction: int = 8, recurrence: int = 1):
        super().__init__()
        for name, value in (("channels", channels), ("reduction", reduction), ("recurrence", recurrence)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.channels, self.recurrence = channels, recurrence
        inner = max(channels // reduction, 1)
        self.query = nn.Conv2d(channels, inner, 1)  # Q, Sec. 3.2
        self.key = nn.Conv2d(channels, inner, 1)  # K
        self.value = nn.Conv2d(channels, channels, 1)  # V
        self.gamma = nn.Parameter(torch.zeros(1))  # Eq. 2 scale; zero init as in the authors' code (functions.py)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights of one module: (N, H, W, H + W); [..., :H] over the column, [..., H:] over the row.

        Entry [n, i, j, i] (position u compared with itself through the column) is exactly 0, so every
        position has H + W - 1 non-zero weights summing to one.
        """
        h = x.shape[2]
        q, k = self.query(x), self.key(x)  # (N, C', H, W)
        e_col = torch.einsum("nchw,ncgw->nhwg", q, k)  # column affinities, key at (g, w): (N, H, W, H)
        e_row = torch.einsum("nchw,nchv->nhwv", q, k)  # row affinities, key at (h, v): (N, H, W, W)
        self_in_col = torch.eye(h, dtype=torch.bool, device=x.device)[:, None, :]  # (H, 1, H): g == h
        e_col = e_col.masked_fill(self_in_col, float("-inf"))  # u counted once, in its row (the port's INF)
        return torch.softmax(torch.cat([e_col, e_row], dim=-1), dim=-1)  # Eq. 1 + softmax: (N, H, W, H + W)

    def _module(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2]
        a = self.attention(x)
        a_col, a_row = a[..., :h], a[..., h:]
        v = self.value(x)  # (N, C, H, W)
        out = torch.einsum("nhwg,ncgw->nchw", a_col, v) + torch.einsum("nhwv,nchv->nchw", a_row, v)  # Eq. 2
        return self.gamma * out + x  # Eq. 2: H' = gamma * aggregation + H

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        for _ in range(self.recurrence):  # Sec. 3.3: R loops with shared weights (a constant, not data)
            x = self._module(x)
        return x
