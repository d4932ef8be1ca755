"""Shuffle Attention (Zhang, Yang: "SA-Net: Shuffle Attention for Deep Convolutional Neural Networks",
ICASSP 2021, arXiv:2102.00240)."""

from __future__ import annotations

import torch
from torch import nn


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: (N, g * k, H, W) -> view (N, g, k) -> transpose -> (N, k * g, H, W)."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleAttention(nn.Module):
    """Shuffle Attention: grouped channel and spatial gates in one pass, then a channel shuffle.

    The feature map is split into G groups along channels (feature grouping); every group is split
    again into two halves of C/2G channels (Sec. 3, Fig. 2):

    - channel branch: s = GAP(x_k1) (Eq. 1), x'_k1 = sigmoid(W_1 s + b_1) * x_k1 (Eq. 2);
    - spatial branch: x'_k2 = sigmoid(W_2 GN(x_k2) + b_2) * x_k2 (Eq. 3), GroupNorm with one channel
      per group over the C/2G channels;

    W_1, b_1, W_2, b_2 are per-channel scales and shifts of shape (C/2G,) shared by all G groups. The
    two halves are concatenated, the groups aggregated, and a channel shuffle with 2 groups lets the
    channel and spatial halves exchange information (as in the authors' ``sa_layer``).

    Args:
        channels: number of input channels C; must be divisible by 2 * groups.
        groups: number of groups G (64 in the authors' code, ``sa_layer(channel, groups=64)``).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> sa = ShuffleAttention(256)  # G = 64: 2 channels per branch and group
        >>> sa(torch.randn(2, 256, 14, 14)).shape
        torch.Size([2, 256, 14, 14])
        >>> sum(p.numel() for p in sa.parameters())  # 6 * C / 2G
        12
    """

    def __init__(self, channels: int, groups: int = 64):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        if channels % (2 * groups):
            raise ValueError(f"shuffle attention splits C into {groups} groups of two halves: channels ({channels}) "
                             f"must be divisible by 2 * groups = {2 * groups}; pass a smaller groups")
        self.channels, self.groups = channels, groups
        half = channels // (2 * groups)  # C / 2G channels per branch and group
        # Eq. 2 and Eq. 3: per-channel scale and shift, initialised as in the authors' code (W = 0, b = 1).
        self.cweight = nn.Parameter(torch.zeros(1, half, 1, 1))  # W_1
        self.cbias = nn.Parameter(torch.ones(1, half, 1, 1))  # b_1
        self.sweight = nn.Parameter(torch.zeros(1, half, 1, 1))  # W_2
        self.sbias = nn.Parameter(torch.ones(1, half, 1, 1))  # b_2
        self.gn = nn.GroupNorm(half, half)  # Eq. 3: GN with one channel per group (affine, as in the code)

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two gates: (N * G, C/2G, 1, 1) per channel (Eq. 2) and (N * G, C/2G, H, W) per position (Eq. 3)."""
        return self._branches(x)[2:]

    def _branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        n, c, h, w = x.shape
        grouped = x.reshape(n * self.groups, c // self.groups, h, w)  # feature grouping: (N * G, C/G, H, W)
        x0, x1 = grouped.chunk(2, dim=1)  # channel and spatial halves: (N * G, C/2G, H, W) each
        s = x0.mean(dim=(2, 3), keepdim=True)  # Eq. 1, global average pooling: (N * G, C/2G, 1, 1)
        channel_gate = torch.sigmoid(self.cweight * s + self.cbias)  # Eq. 2
        spatial_gate = torch.sigmoid(self.sweight * self.gn(x1) + self.sbias)  # Eq. 3
        return x0, x1, channel_gate, spatial_gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        x0, x1, channel_gate, spatial_gate = self._branches(x)
        out = torch.cat([x0 * channel_gate, x1 * spatial_gate], dim=1)  # concat: (N * G, C/G, H, W)
        out = out.reshape(x.shape)  # aggregation of the G groups: (N, C, H, W)
        return channel_shuffle(out, 2)  # Sec. 3 "channel shuffle", 2 groups as in the authors' code
