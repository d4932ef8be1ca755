"""Dual attention block (Fu, Liu, Tian, Li, Bao, Fang, Lu: "Dual Attention Network for Scene Segmentation",
CVPR 2019, arXiv:1809.02983).

The position attention module (PAM) and the channel attention module (CAM) of Sec. 3, summed into one
C -> C block with a single shared skip connection.
"""

from __future__ import annotations

import torch
from torch import nn

CHANNEL_ENERGIES = ("official", "paper")


class PositionAttention(nn.Module):
    """Position attention module (Sec. 3.2, Fig. 2(A)): self-attention over the H x W positions.

    B, C = query/key 1x1 convs (C -> C / reduction), D = value 1x1 conv (C -> C);
    s_ji = softmax_i(B_i . C_j) (Eq. 1) and E_j = alpha * sum_i s_ji D_i + A_j (Eq. 2), alpha initialised
    to 0. ``forward`` returns the attended term sum_i s_ji D_i only; the block scales it and adds the skip.
    """

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        inner = max(channels // reduction, 1)
        # Deviation: query/key have C / 8 channels as in the authors' code (PAM_Module, in_dim // 8).
        self.query = nn.Conv2d(channels, inner, 1)  # B
        self.key = nn.Conv2d(channels, inner, 1)  # C (the paper's name; not the channel count)
        self.value = nn.Conv2d(channels, channels, 1)  # D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (N, HW, C')
        k = self.key(x).flatten(2)  # (N, C', HW)
        s = torch.softmax(q @ k, dim=-1)  # Eq. 1: s[n, j, i], each query position j sums to one over i
        v = self.value(x).flatten(2)  # (N, C, HW)
        return (v @ s.transpose(1, 2)).view(n, c, h, w)  # Eq. 2: sum_i s_ji D_i, (N, C, H, W)


class ChannelAttention(nn.Module):
    """Channel attention module (Sec. 3.3, Fig. 2(B)): self-attention over the C channels, no parameters.

    x_ji = softmax_i(A_i . A_j) (Eq. 3) and E_j = beta * sum_i x_ji A_i + A_j (Eq. 4), beta initialised
    to 0. ``forward`` returns sum_i x_ji A_i only.
    """

    def __init__(self, energy: str = "official"):
        super().__init__()
        if energy not in CHANNEL_ENERGIES:
            raise ValueError(f"channel_energy must be one of {CHANNEL_ENERGIES}, got {energy!r}")
        self.energy = energy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        a = x.flatten(2)  # (N, C, HW)
        energy = a @ a.transpose(1, 2)  # A_j . A_i: (N, C, C)
        if self.energy == "official":
            # Deviation: the authors' CAM_Module takes softmax(max_i(energy) - energy), i.e. softmax of the
            # *negated* affinity (the max only shifts the logits); Eq. 3 takes softmax(energy).
            energy = energy.amax(dim=-1, keepdim=True) - energy
        attn = torch.softmax(energy, dim=-1)  # Eq. 3: (N, C, C), rows sum to one
        return (attn @ a).view(n, c, h, w)  # Eq. 4: sum_i x_ji A_i, (N, C, H, W)


class DualAttention(nn.Module):
    """PAM + CAM as one block: y = x + gamma * PAM(x) + beta * CAM(x), gamma = beta = 0 at initialisation.

    Sec. 3.2-3.3 define two residual modules, E_pos = alpha * PAM(A) + A (Eq. 2) and
    E_chn = beta * CAM(A) + A (Eq. 4), with learnable scalars initialised to 0; Sec. 3.4 sums their outputs
    (after a convolution each, in the segmentation head). As a C -> C block this entry sums the two
    attended terms on one shared skip, so that the block starts as the identity.

    Args:
        channels: number of input (and output) channels C.
        reduction: query/key width C / reduction of the position attention (8 in the authors' code).
        channel_energy: ``"official"`` (default) uses the authors' softmax(max - energy) in the channel
            attention; ``"paper"`` uses softmax(energy) as written in Eq. 3.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> da = DualAttention(64)
        >>> x = torch.randn(2, 64, 8, 8)
        >>> torch.equal(da(x), x)  # gamma = beta = 0: the identity at initialisation
        True
    """

    def __init__(self, channels: int, reduction: int = 8, channel_energy: str = "official"):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(reduction, int) or reduction < 1:
            raise ValueError(f"reduction must be a positive integer, got {reduction!r}")
        self.channels = channels
        self.pam = PositionAttention(channels, reduction)
        self.cam = ChannelAttention(channel_energy)
        self.gamma = nn.Parameter(torch.zeros(1))  # alpha of Eq. 2, "initialized as 0"
        self.beta = nn.Parameter(torch.zeros(1))  # beta of Eq. 4, "initialized as 0"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        # Deviation: E_pos + E_chn would count the input twice (2x at init); one shared skip keeps the
        # block an identity at initialisation. Equals PAM_module(x) + CAM_module(x) - x of the authors' code.
        return x + self.gamma * self.pam(x) + self.beta * self.cam(x)
