"""Squeeze-and-Excitation block (Hu, Shen, Sun: "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507)."""

import torch
from torch import nn


class SEBlock(nn.Module):
    """Channel recalibration: squeeze (global average pool), excite (FC-ReLU-FC-sigmoid), scale.

    Sec. 3.1, Eq. 2 squeezes each channel to one statistic z_c = mean_{i,j} u_c(i, j); Sec. 3.2, Eq. 3
    computes the gate s = sigmoid(W2 relu(W1 z)) with a bottleneck of reduction ratio r; Eq. 4
    rescales x_c = s_c * u_c.

    Args:
        channels: number of input channels C.
        reduction: the reduction ratio r of the bottleneck (the paper uses 16, Sec. 6.1).
        min_hidden: lower bound on the hidden width C // r, so that narrow layers keep a gate.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> se = SEBlock(64)
        >>> se(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, channels: int, reduction: int = 16, min_hidden: int = 1):
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be positive, got {channels} and {reduction}")
        hidden = max(channels // reduction, min_hidden)
        self.fc1 = nn.Linear(channels, hidden)  # W1, Eq. 3 (the paper's FC layers carry biases)
        self.fc2 = nn.Linear(hidden, channels)  # W2, Eq. 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.mean(dim=(2, 3))  # squeeze, Eq. 2: (N, C)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))  # excitation, Eq. 3: (N, C)
        return x * s[:, :, None, None]  # scale, Eq. 4: (N, C, H, W)
