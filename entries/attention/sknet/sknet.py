"""Selective Kernel convolution (Li, Wang, Hu, Yang: "Selective Kernel Networks", CVPR 2019, arXiv:1903.06586).

The SK convolution of Sec. 3.1 (split, fuse, select) as a C -> C feature-map block.
"""

from __future__ import annotations

import torch
from torch import nn


class SKBlock(nn.Module):
    """Selective Kernel convolution: M branches with different receptive fields, mixed by a softmax gate.

    Sec. 3.1, *Split*: M grouped 3x3 convolutions with dilation 1, 2, ..., M (the paper replaces the 5x5
    kernel by a 3x3 kernel with dilation 2, which has the same receptive field), each followed by BN and
    ReLU, give U_1 ... U_M. *Fuse*: U = sum_m U_m (Eq. 1), s = GAP(U) (Eq. 2) and
    z = ReLU(BN(W s)) with W in R^{d x C} (Eq. 3), d = max(C / r, L) (Eq. 4). *Select*: one FC per branch
    A_m in R^{C x d}, a softmax across the M branches for every channel (Eq. 5), and
    V = sum_m a_m * U_m (Eq. 6). SK[M, G, r] = SK[2, 32, 16] with L = 32 is the paper's setting (Sec. 3.2).

    Args:
        channels: number of input (and output) channels C; divisible by ``groups``.
        branches: number of paths M (Sec. 3.1); branch m uses dilation m + 1.
        groups: cardinality G of every branch's grouped convolution (Sec. 3.2: 32).
        reduction: the ratio r of d = max(C / r, L) (Eq. 4; Sec. 3.2: 16).
        min_dim: the lower bound L of d (Eq. 4; "L = 32 is a typical setting").

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> sk = SKBlock(64)
        >>> sk(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
        >>> sk.fuse_dim  # d = max(64 // 16, 32)
        32
    """

    def __init__(self, channels: int, branches: int = 2, groups: int = 32, reduction: int = 16,
                 min_dim: int = 32):
        super().__init__()
        for name, value in (("channels", channels), ("branches", branches), ("groups", groups),
                            ("reduction", reduction), ("min_dim", min_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if channels % groups:
            raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
        self.channels, self.branches = channels, branches
        self.fuse_dim = max(channels // reduction, min_dim)  # Eq. 4: d = max(C / r, L)
        # Split (Sec. 3.1): grouped 3x3 convs, dilation m + 1 (3x3 dilated 2 stands in for 5x5), BN, ReLU.
        # No conv biases: each conv is followed by BN, as in the authors' prototxt (bias_term: false).
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=m + 1, dilation=m + 1, groups=groups, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )
            for m in range(branches)
        )
        # Fuse (Eq. 3): z = delta(B(W s)), W in R^{d x C}, bias-free (followed by BN; authors' B_fc1).
        self.fc = nn.Sequential(nn.Linear(channels, self.fuse_dim, bias=False),
                                nn.BatchNorm1d(self.fuse_dim), nn.ReLU(inplace=True))
        # Select (Eq. 5): A, B, ... in R^{C x d} stacked into one (M C) x d matrix (authors' B_fc2, no bias).
        self.select = nn.Linear(self.fuse_dim, branches * channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        n = x.shape[0]
        u = torch.stack([conv(x) for conv in self.convs], dim=1)  # split: (N, M, C, H, W)
        s = u.sum(dim=1).mean(dim=(2, 3))  # Eq. 1 (U = sum_m U_m) and Eq. 2 (GAP): (N, C)
        z = self.fc(s)  # Eq. 3: (N, d)
        a = self.select(z).view(n, self.branches, self.channels).softmax(dim=1)  # Eq. 5: (N, M, C)
        return (u * a[:, :, :, None, None]).sum(dim=1)  # Eq. 6: V = sum_m a_m * U_m, (N, C, H, W)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The select weights a (Eq. 5): (N, M, C), summing to one over the M branches."""
        u_sum = sum(conv(x) for conv in self.convs)
        z = self.fc(u_sum.mean(dim=(2, 3)))
        return self.select(z).view(x.shape[0], self.branches, self.channels).softmax(dim=1)
