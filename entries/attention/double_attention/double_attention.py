"""Double attention block (Chen, Kalantidis, Li, Yan, Feng: "A^2-Nets: Double Attention Networks",
NeurIPS 2018, arXiv:1810.11579).

The 2-D (image) form of the block; the paper's video blocks are the same operation over T x H x W positions.
"""

from __future__ import annotations

import torch
from torch import nn


class DoubleAttention(nn.Module):
    """A^2 block: gather global descriptors by second-order attention pooling, distribute them back.

    Sec. 3: from the input X three 1x1 convolutions compute A (c_m feature maps), B (c_n attention maps)
    and V (c_n attention vectors) over the L = H W positions. *Gather* (Sec. 3.1): each of the c_n
    descriptors is a softmax(B)-weighted sum of A over all positions, G = A softmax(B)^T, an attention
    form of bilinear pooling (softmax over positions). *Distribute* (Sec. 3.2): every position i mixes
    the descriptors with its own weights softmax(v_i) (softmax over the c_n descriptors), Z = G softmax(V).
    Sec. 3.3: a 1x1 convolution maps Z from c_m back to C channels and the result is added to X, so the
    block is a residual unit (Fig. 2).

    Args:
        channels: number of input (and output) channels C.
        c_m: number of feature maps in A, i.e. the width of each gathered descriptor; default C // 4.
        c_n: number of attention maps in B and V, i.e. the number of gathered descriptors; default C // 4.
        residual: add the input back (Sec. 3.3, Fig. 2); ``False`` returns the 1x1-convolved Z alone.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> a2 = DoubleAttention(64)
        >>> a2(torch.randn(2, 64, 14, 14)).shape
        torch.Size([2, 64, 14, 14])
    """

    def __init__(self, channels: int, c_m: int | None = None, c_n: int | None = None, residual: bool = True):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        # Deviation: c_m = c_n = C / 4 is this entry's default; the paper treats m and n as free choices.
        c_m = max(channels // 4, 1) if c_m is None else c_m
        c_n = max(channels // 4, 1) if c_n is None else c_n
        for name, value in (("c_m", c_m), ("c_n", c_n)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.channels, self.c_m, self.c_n, self.residual = channels, c_m, c_n, residual
        self.conv_a = nn.Conv2d(channels, c_m, 1)  # A = phi(X): feature maps, Sec. 3.1
        self.conv_b = nn.Conv2d(channels, c_n, 1)  # B = theta(X): attention maps, Sec. 3.1
        self.conv_v = nn.Conv2d(channels, c_n, 1)  # V = rho(X): attention vectors, Sec. 3.2
        self.conv_out = nn.Conv2d(c_m, channels, 1)  # Sec. 3.3: back to C channels before the addition

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """First attention (Sec. 3.1): G = A softmax(B)^T, c_n global descriptors of width c_m: (N, c_m, c_n)."""
        a = self.conv_a(x).flatten(2)  # (N, c_m, L)
        b = self.conv_b(x).flatten(2).softmax(dim=-1)  # each attention map sums to one over positions: (N, c_n, L)
        return a @ b.transpose(1, 2)  # (N, c_m, c_n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        n, _, h, w = x.shape
        g = self.gather(x)  # (N, c_m, c_n)
        v = self.conv_v(x).flatten(2).softmax(dim=1)  # second attention: softmax over descriptors, (N, c_n, L)
        z = (g @ v).view(n, self.c_m, h, w)  # distribute (Sec. 3.2): z_i = G softmax(v_i), (N, c_m, H, W)
        out = self.conv_out(z)  # (N, C, H, W)
        return out + x if self.residual else out  # Sec. 3.3: residual unit
