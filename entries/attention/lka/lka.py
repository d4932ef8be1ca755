"""Large Kernel Attention (Guo, Lu, Liu, Cheng, Hu: "Visual Attention Network", Computational Visual Media 2023,
arXiv:2202.09741)."""

from __future__ import annotations

import torch
from torch import nn


class LKA(nn.Module):
    """Large kernel attention: a decomposed K x K convolution used as an attention map, multiplied with x.

    A K x K convolution is decomposed (Sec. 3.2, Fig. 2) into a (2d - 1) x (2d - 1) depth-wise convolution
    (local context), a ceil(K/d) x ceil(K/d) depth-wise convolution with dilation d (long-range context) and
    a 1x1 convolution (channel mixing). Their output is the attention map, applied element-wise (Eqs. 2-3):

        Attention = Conv1x1(DW-D-Conv(DW-Conv(F))),   Output = Attention (*) F

    No sigmoid or softmax: the map is used as is, adaptive over space and over channels. With the paper's
    K = 21, d = 3 the kernels are 5 x 5 and 7 x 7 (dilation 3), as in the authors' ``AttentionModule``.

    Args:
        channels: number of input channels C.
        kernel_size: the large kernel K that is decomposed (21 in VAN).
        dilation: the dilation d of the long-range depth-wise convolution (3 in VAN).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> lka = LKA(64)
        >>> lka(torch.randn(2, 64, 28, 28)).shape
        torch.Size([2, 64, 28, 28])
        >>> lka.conv0.kernel_size, lka.conv_spatial.kernel_size, lka.conv_spatial.dilation
        ((5, 5), (7, 7), (3, 3))
    """

    def __init__(self, channels: int, kernel_size: int = 21, dilation: int = 3):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(dilation, int) or dilation < 1:
            raise ValueError(f"dilation must be a positive integer, got {dilation!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive integer, got {kernel_size!r}")
        local = 2 * dilation - 1  # (2d - 1) x (2d - 1) depth-wise conv
        dilated = -(-kernel_size // dilation)  # ceil(K / d) x ceil(K / d) depth-wise dilated conv
        if dilated % 2 == 0:
            raise ValueError(f"ceil(kernel_size / dilation) must be odd to keep the size, got {dilated} "
                             f"for kernel_size={kernel_size}, dilation={dilation}")
        self.channels, self.kernel_size, self.dilation = channels, kernel_size, dilation
        self.conv0 = nn.Conv2d(channels, channels, local, padding=local // 2, groups=channels)  # DW-Conv
        self.conv_spatial = nn.Conv2d(channels, channels, dilated, padding=dilation * (dilated - 1) // 2,
                                      groups=channels, dilation=dilation)  # DW-D-Conv
        self.conv1 = nn.Conv2d(channels, channels, 1)  # 1x1 conv (channel adaptability)

    @property
    def receptive_field(self) -> int:
        """Side of the square the conv stack sees: (2d - 1) + d (ceil(K/d) - 1); 23 for K = 21, d = 3."""
        return self.conv0.kernel_size[0] + self.dilation * (self.conv_spatial.kernel_size[0] - 1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map of Eq. 2: (N, C, H, W) -> (N, C, H, W)."""
        return self.conv1(self.conv_spatial(self.conv0(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.attention(x) * x  # Eq. 3: element-wise product
