"""Axial attention (Ho, Kalchbrenner, Weissenborn, Salimans: "Axial Attention in Multidimensional
Transformers", arXiv:1912.12180, 2019).

Sec. 3: instead of attending over all H x W positions of an image (N^2 = (HW)^2 pairs), an axial attention
layer attends along one axis only: every column is a sequence of H positions (attention along H), or every
row a sequence of W positions (attention along W). One layer along H followed by one along W connects every
pixel with every other, at a cost of HW (H + W) pairs instead of (HW)^2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _AxisSelfAttention(nn.Module):
    """Multi-head self-attention over the sequences (B, S, C) of one axis (projections as in Vaswani et al.)."""

    def __init__(self, channels: int, num_heads: int, bias: bool):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, channels // num_heads
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)  # W^Q, W^K, W^V stacked
        self.out = nn.Linear(channels, channels, bias=bias)  # W^O

    def forward(self, seq: torch.Tensor) -> torch.Tensor:  # (B, S, C) -> (B, S, C)
        b, s, c = seq.shape
        q, k, v = self.qkv(seq).view(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        heads = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d)) v per head: (B, h, S, d)
        return self.out(heads.transpose(1, 2).reshape(b, s, c))


class AxialAttention(nn.Module):
    """Axial self-attention on a feature map: multi-head attention along H (each column), then along W (each row).

    Each axial layer is a full multi-head self-attention (its own Q, K, V and output projections) whose
    sequences are the columns (``height``) or the rows (``width``) of the map; all columns (rows) of all images
    are attended as one batch through ``F.scaled_dot_product_attention``. After the two layers each output
    pixel depends on every input pixel (Sec. 3: full receptive field in two layers). The block has no residual
    connection and no normalisation: it maps features to attended features, so it can replace (or be wrapped
    around) any branch, e.g. ResNet's attention slot; the surrounding network adds the residual.

    Args:
        channels: number of input channels C (the token width).
        num_heads: number of heads h per axial layer; must divide ``channels``.
        bias: add biases to the projections (as ``torch.nn.MultiheadAttention``).

    Shape:
        - Input: (N, C, H, W), any H, W
        - Output: (N, C, H, W)

    Examples:
        >>> attn = AxialAttention(64, num_heads=8)
        >>> attn(torch.randn(2, 64, 20, 30)).shape
        torch.Size([2, 64, 20, 30])
    """

    def __init__(self, channels: int, num_heads: int = 8, bias: bool = True):
        super().__init__()
        if channels < 1 or num_heads < 1:
            raise ValueError(f"channels and num_heads must be positive, got {channels} and {num_heads}")
        if channels % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide channels ({channels})")
        self.channels, self.num_heads = channels, num_heads
        self.height = _AxisSelfAttention(channels, num_heads, bias)  # attention along H (within each column)
        self.width = _AxisSelfAttention(channels, num_heads, bias)  # attention along W (within each row)

    def attend_height(self, x: torch.Tensor) -> torch.Tensor:
        """One axial layer along H: position (i, j) attends to (i', j) for all i'. (N, C, H, W) -> same."""
        n, c, h, w = x.shape
        cols = x.permute(0, 3, 2, 1).reshape(n * w, h, c)  # the N W columns as sequences of H tokens
        return self.height(cols).view(n, w, h, c).permute(0, 3, 2, 1)

    def attend_width(self, x: torch.Tensor) -> torch.Tensor:
        """One axial layer along W: position (i, j) attends to (i, j') for all j'. (N, C, H, W) -> same."""
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h, w, c)  # the N H rows as sequences of W tokens
        return self.width(rows).view(n, h, w, c).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention along H, then along W.

        Args:
            x: feature map, (N, C, H, W).

        Returns:
            (N, C, H, W).
        """
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected a feature map (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.attend_width(self.attend_height(x))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_heads={self.num_heads}"
