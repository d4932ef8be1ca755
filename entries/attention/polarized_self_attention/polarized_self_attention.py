"""Polarized Self-Attention (Liu, Liu, Fan, Huang: "Polarized Self-Attention: Towards High-quality Pixel-wise
Regression", arXiv:2107.00782, 2021)."""

from __future__ import annotations

import torch
from torch import nn

LAYOUTS = ("parallel", "sequential")


class PolarizedSelfAttention(nn.Module):
    """Polarized self-attention: a channel-only and a spatial-only self-attention, each at full resolution.

    "Polarized filtering" (Sec. 3): each branch collapses one dimension completely and keeps the other at
    high internal resolution (C/2), then applies softmax followed by sigmoid ("enhancement"):

    - channel-only branch: a 1x1 conv W_q maps x to one logit per position, softmax over the H x W
      positions, and the softmax-weighted sum of W_v x (C/2 channels) is lifted back to C channels by
      W_z and passed through a sigmoid: A_ch in (0, 1)^{C x 1 x 1};
    - spatial-only branch: W_q x (C/2 channels) is globally average-pooled into one C/2-vector, its dot
      product with W_v x (C/2 channels) at every position gives one logit per position, softmax over
      the H x W positions, then a sigmoid: A_sp in (0, 1)^{1 x H x W}.

    ``layout="parallel"``: PSA_p(X) = A_ch(X) * X + A_sp(X) * X.
    ``layout="sequential"``: PSA_s(X) = A_sp(Y) * Y with Y = A_ch(X) * X.

    The branches follow the authors' ``PSA_p`` (``semantic-segmentation/network/PSA.py``): bias-free 1x1
    convolutions, Kaiming (fan_in) initialisation of W_q and W_v, softmax over positions in both branches.

    Args:
        channels: number of input channels C (at least 2; the internal width is C // 2).
        layout: ``"parallel"`` (sum of both branches) or ``"sequential"`` (channel branch, then spatial).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> psa = PolarizedSelfAttention(64)
        >>> psa(torch.randn(2, 64, 16, 16)).shape
        torch.Size([2, 64, 16, 16])
        >>> sum(p.numel() for p in psa.parameters())  # 2 C^2 + C
        8256
    """

    def __init__(self, channels: int, layout: str = "parallel"):
        super().__init__()
        if not isinstance(channels, int) or channels < 2:
            raise ValueError(f"channels must be an integer >= 2 (the internal width is C // 2), got {channels!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
        self.channels, self.layout = channels, layout
        inter = channels // 2
        # Channel-only branch (authors' spatial_pool): W_q C -> 1, W_v C -> C/2, W_z C/2 -> C.
        self.ch_wq = nn.Conv2d(channels, 1, kernel_size=1, bias=False)
        self.ch_wv = nn.Conv2d(channels, inter, kernel_size=1, bias=False)
        self.ch_wz = nn.Conv2d(inter, channels, kernel_size=1, bias=False)
        # Spatial-only branch (authors' channel_pool): W_q C -> C/2 (then pooled), W_v C -> C/2.
        self.sp_wq = nn.Conv2d(channels, inter, kernel_size=1, bias=False)
        self.sp_wv = nn.Conv2d(channels, inter, kernel_size=1, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Authors' reset_parameters: Kaiming normal, fan_in, on the four query/value convolutions."""
        for conv in (self.ch_wq, self.ch_wv, self.sp_wq, self.sp_wv):
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """A_ch(X): one gate per channel, (N, C, H, W) -> (N, C, 1, 1)."""
        n = x.shape[0]
        q = torch.softmax(self.ch_wq(x).reshape(n, 1, -1), dim=-1)  # softmax over H x W: (N, 1, HW)
        v = self.ch_wv(x).flatten(2)  # (N, C/2, HW)
        z = torch.bmm(v, q.transpose(1, 2)).unsqueeze(-1)  # softmax-weighted sum over positions: (N, C/2, 1, 1)
        return torch.sigmoid(self.ch_wz(z))  # W_z then sigmoid: (N, C, 1, 1)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """A_sp(X): one gate per position, (N, C, H, W) -> (N, 1, H, W)."""
        n, _, h, w = x.shape
        q = self.sp_wq(x).mean(dim=(2, 3)).unsqueeze(1)  # global average pooling: (N, 1, C/2)
        v = self.sp_wv(x).flatten(2)  # (N, C/2, HW)
        logits = torch.bmm(q, v)  # one logit per position: (N, 1, HW)
        return torch.sigmoid(torch.softmax(logits, dim=-1)).reshape(n, 1, h, w)  # softmax over HW, then sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if self.layout == "parallel":
            return x * self.channel_attention(x) + x * self.spatial_attention(x)  # PSA_p
        y = x * self.channel_attention(x)  # PSA_s: channel branch first ...
        return y * self.spatial_attention(y)  # ... then the spatial branch on its output
