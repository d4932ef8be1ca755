"""Coordinate Attention (Hou, Zhou, Feng: "Coordinate Attention for Efficient Mobile Network Design", CVPR 2021,
arXiv:2103.02907)."""

import torch
import torch.nn.functional as F
from torch import nn


class CoordAtt(nn.Module):
    """Channel attention factorised into a height gate and a width gate (coordinate attention).

    Sec. 3.2.1 (coordinate information embedding) replaces SE's 2-D global pooling by two 1-D poolings:
    z^h_c(h) = mean_i x_c(h, i) (Eq. 4) and z^w_c(w) = mean_j x_c(j, w) (Eq. 5). Sec. 3.2.2 (coordinate
    attention generation) concatenates them along the spatial axis and applies one shared 1x1 conv F1 with
    reduction r, then BatchNorm and a non-linearity delta: f = delta(F1([z^h, z^w])) (Eq. 6). f is split
    back into f^h (C/r x H) and f^w (C/r x W); two 1x1 convs F_h, F_w and a sigmoid give the gates
    g^h = sigmoid(F_h(f^h)) (Eq. 7) and g^w = sigmoid(F_w(f^w)) (Eq. 8), and
    y_c(i, j) = x_c(i, j) * g^h_c(i) * g^w_c(j) (Eq. 9).

    The hidden width is max(min_hidden, C // r) with r = 32 and min_hidden = 8, and delta is h-swish, as in
    the authors' code (coordatt.py); F1, F_h and F_w carry biases there too.

    Args:
        channels: number of input (and output) channels C.
        reduction: reduction ratio r of the shared 1x1 conv F1 (32 in the authors' code).
        min_hidden: lower bound on the hidden width C // r (8 in the authors' code).
        activation: the non-linearity delta of Eq. 6: "hswish" (authors' code), "swish" or "relu".

    Shape:
        - Input: (N, C, H, W), any H and W (H != W allowed)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> ca = CoordAtt(64)
        >>> ca.hidden, sum(p.numel() for p in ca.parameters())
        (8, 1688)
        >>> ca(torch.randn(2, 64, 7, 5)).shape
        torch.Size([2, 64, 7, 5])
    """

    def __init__(self, channels: int, reduction: int = 32, min_hidden: int = 8, activation: str = "hswish"):
        super().__init__()
        if channels < 1 or reduction < 1 or min_hidden < 1:
            raise ValueError(f"channels, reduction and min_hidden must be positive, got {channels}, {reduction}, "
                             f"{min_hidden}")
        if activation not in ("hswish", "swish", "relu"):
            raise ValueError(f"activation must be 'hswish', 'swish' or 'relu', got {activation!r}")
        self.channels = channels
        self.hidden = max(min_hidden, channels // reduction)  # mip = max(8, C // r), authors' code
        self.activation = activation
        self.conv1 = nn.Conv2d(channels, self.hidden, 1)  # F1, Eq. 6 (shared by both directions)
        # BatchNorm before delta: in Fig. 3(c) and the authors' code ("BatchNorm + Non-linear").
        self.bn1 = nn.BatchNorm2d(self.hidden)
        self.conv_h = nn.Conv2d(self.hidden, channels, 1)  # F_h, Eq. 7
        self.conv_w = nn.Conv2d(self.hidden, channels, 1)  # F_w, Eq. 8

    def _delta(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation == "hswish":
            return F.hardswish(x)  # x * relu6(x + 3) / 6, the authors' h_swish
        if self.activation == "swish":
            return F.silu(x)
        return F.relu(x)

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two direction-aware gates of Eqs. 7-8.

        Args:
            x: input feature map (N, C, H, W).

        Returns:
            (g_h, g_w): g_h of shape (N, C, H, 1) and g_w of shape (N, C, 1, W), both in (0, 1).
        """
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[2], x.shape[3]
        z_h = x.mean(dim=3, keepdim=True)  # Eq. 4, pool along the width: (N, C, H, 1)
        z_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # Eq. 5, pool along the height: (N, C, W, 1)
        f = self._delta(self.bn1(self.conv1(torch.cat([z_h, z_w], dim=2))))  # Eq. 6: (N, C/r, H + W, 1)
        f_h, f_w = torch.split(f, [h, w], dim=2)  # (N, C/r, H, 1), (N, C/r, W, 1)
        g_h = torch.sigmoid(self.conv_h(f_h))  # Eq. 7: (N, C, H, 1)
        g_w = torch.sigmoid(self.conv_w(f_w.transpose(2, 3)))  # Eq. 8: (N, C, 1, W)
        return g_h, g_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_h, g_w = self.gates(x)
        return x * g_h * g_w  # Eq. 9, broadcast over (N, C, H, W)
