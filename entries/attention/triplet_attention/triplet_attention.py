"""Triplet attention (Misra, Nalamada, Arasanipalai, Hou: "Rotate to Attend: Convolutional Triplet Attention
Module", WACV 2021, arXiv:2010.03045)."""

import torch
from torch import nn


def z_pool(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Z-pool: the maximum and the mean along ``dim``, stacked as two channels at dim 1.

    Args:
        x: a 4-D tensor (N, C, H, W).
        dim: the axis to reduce (1, 2 or 3).

    Returns:
        (N, 2, *rest) with ``rest`` the two remaining axes in their original order; [max, mean] as in the
        authors' ``ZPool``.
    """
    return torch.stack([x.amax(dim=dim), x.mean(dim=dim)], dim=1)


class _Gate(nn.Module):
    """One branch's gate: 2 pooled maps -> k x k conv -> BatchNorm -> sigmoid (the authors' AttentionGate)."""

    def __init__(self, kernel_size: int, momentum: float):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm2d(1, eps=1e-5, momentum=momentum)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.norm(self.conv(pooled)))  # (N, 1, a, b)


class TripletAttention(nn.Module):
    """Three branches gate the (C, W), (H, C) and (H, W) planes of the input; their outputs are averaged.

    Sec. 3: each branch rotates the input so that a different axis plays the role of "channels", Z-pools
    along it (max and mean, giving 2 maps), convolves the 2 maps with one k x k filter followed by batch
    normalisation, and turns the result into sigmoid weights that multiply the rotated input; the result
    is rotated back. Branch 1 pools over H and attends the (C, W) plane, branch 2 pools over W and attends
    the (H, C) plane, and branch 3 pools over C and attends the (H, W) plane (CBAM's spatial gate). The
    output is the average of the three refined tensors, y = (y_cw + y_hc + y_hw) / 3. There is no
    dimensionality reduction; the parameters are 3 * (2 k^2 + 2), independent of C.

    The rotations are done here by pooling along an axis and broadcasting the gate back, which gives the
    same result as permuting the input, gating it and permuting back (as the authors' code does).

    Args:
        channels: number of input channels C (only checked; the module's size does not depend on it).
        kernel_size: size k of each branch's convolution (7 in the paper's main models); odd.
        no_spatial: drop the (H, W) branch and average the other two (the authors' ``no_spatial`` option).
        momentum: momentum of the branches' BatchNorm (0.01 in the authors' code).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> ta = TripletAttention(64)
        >>> sum(p.numel() for p in ta.parameters())
        300
        >>> ta(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, channels: int | None = None, kernel_size: int = 7, no_spatial: bool = False,
                 momentum: float = 0.01):
        super().__init__()
        if channels is not None and channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number (the output keeps its size), got {kernel_size}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.channels = channels
        self.no_spatial = bool(no_spatial)
        self.cw = _Gate(kernel_size, momentum)  # branch 1: pools over H, attends (C, W)
        self.hc = _Gate(kernel_size, momentum)  # branch 2: pools over W, attends (H, C)
        self.hw = None if no_spatial else _Gate(kernel_size, momentum)  # branch 3: pools over C, attends (H, W)

    def extra_repr(self) -> str:
        return f"no_spatial={self.no_spatial}"

    def gates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The branches' sigmoid weights, each shaped to broadcast against x (N, C, H, W).

        Returns:
            [(N, C, 1, W), (N, C, H, 1)] and, unless ``no_spatial``, (N, 1, H, W).
        """
        if x.dim() != 4 or (self.channels is not None and x.shape[1] != self.channels):
            c = self.channels if self.channels is not None else "C"
            raise ValueError(f"expected input of shape (N, {c}, H, W), got {tuple(x.shape)}")
        g_cw = self.cw(z_pool(x, 2)).permute(0, 2, 1, 3)  # pool H -> (N, 2, C, W) -> gate (N, 1, C, W) -> (N, C, 1, W)
        # pool W -> (N, 2, C, H); the authors' rotation gives the (H, C) plane, so transpose it first.
        g_hc = self.hc(z_pool(x, 3).transpose(2, 3)).permute(0, 3, 2, 1)  # (N, 1, H, C) -> (N, C, H, 1)
        out = [g_cw, g_hc]
        if self.hw is not None:
            out.append(self.hw(z_pool(x, 1)))  # pool C -> (N, 2, H, W) -> gate (N, 1, H, W)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gates(x)
        return x * (sum(g) / len(g))  # average of the branches' outputs x * g_i: (N, C, H, W)
