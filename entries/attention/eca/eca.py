"""Efficient Channel Attention (Wang, Wu, Zhu, Li, Zuo, Hu: "ECA-Net: Efficient Channel Attention for Deep
Convolutional Neural Networks", CVPR 2020, arXiv:1910.03151)."""

import math

import torch
from torch import nn


def eca_kernel_size(channels: int, gamma: float = 2.0, b: float = 1.0) -> int:
    """The adaptive kernel size k = psi(C) = |log2(C) / gamma + b / gamma|_odd of Eq. 12.

    |t|_odd is evaluated as in the paper's Fig. 3 code: truncate t to an integer and, if it is even, add
    one (so 4.5 -> 5, 5.5 -> 5, and the ties 4 -> 5, 6 -> 7).

    Args:
        channels: number of channels C.
        gamma: the slope gamma of the mapping (2 in all the paper's experiments).
        b: the offset b of the mapping (1 in all the paper's experiments).

    Returns:
        The odd kernel size k >= 1.

    Examples:
        >>> [eca_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)]
        [3, 5, 5, 5, 5, 7]
    """
    if channels < 1:
        raise ValueError(f"channels must be positive, got {channels}")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    t = int(abs((math.log2(channels) + b) / gamma))  # Eq. 12, as in Fig. 3: t = int(|(log2 C + b) / gamma|)
    return t if t % 2 else t + 1  # nearest odd, rounding even t up


class ECA(nn.Module):
    """Channel gate from a 1-D convolution over the globally average-pooled channel descriptor.

    Sec. 3.2: the descriptor y = GAP(X) (one value per channel, no dimensionality reduction) is
    convolved along the channel axis with one shared kernel of size k, so that each channel's gate
    sees only its k nearest channels (local cross-channel interaction):
    omega = sigmoid(C1D_k(y)) (Eq. 9), and the output is X scaled channel-wise by omega. The kernel
    size follows the channel count, k = psi(C) of Eq. 12, unless given.

    Args:
        channels: number of input channels C.
        kernel_size: odd size k of the 1-D convolution; None (default) picks k = psi(C) (Eq. 12).
        gamma: gamma of Eq. 12 (2 in the paper); used only when kernel_size is None.
        b: b of Eq. 12 (1 in the paper); used only when kernel_size is None.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> eca = ECA(256)
        >>> eca.kernel_size, sum(p.numel() for p in eca.parameters())
        (5, 5)
        >>> eca(torch.randn(2, 256, 8, 8)).shape
        torch.Size([2, 256, 8, 8])
    """

    def __init__(self, channels: int, kernel_size: int | None = None, gamma: float = 2.0, b: float = 1.0):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        if kernel_size is None:
            kernel_size = eca_kernel_size(channels, gamma, b)  # adaptive, Eq. 12
        elif kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number (or None for Eq. 12), got {kernel_size}")
        self.channels = channels
        self.kernel_size = kernel_size
        # C1D_k of Eq. 9: k weights shared by all channels, no bias (k parameters, as in the authors' code).
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        y = x.mean(dim=(2, 3))  # GAP: (N, C)
        w = torch.sigmoid(self.conv(y[:, None, :]))  # Eq. 9, channels as the 1-D axis: (N, 1, C)
        return x * w[:, 0, :, None, None]  # channel-wise scaling: (N, C, H, W)
