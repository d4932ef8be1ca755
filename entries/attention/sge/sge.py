"""Spatial Group-wise Enhance (Li, Hu, Yang: "Spatial Group-wise Enhance: Improving Semantic Feature Learning in
Convolutional Networks", arXiv:1905.09646, 2019)."""

import torch
from torch import nn


class SGE(nn.Module):
    """Per group of channels, gate every position by how similar its feature is to the group's mean feature.

    Sec. 3: the C channels are split into G groups, each a set of m = H W sub-feature vectors
    x_i in R^{C/G}. The group's global feature g = (1/m) sum_i x_i (spatial average); each position's
    importance is its dot product with it, c_i = g . x_i. The importances are normalised over space,
    c_hat_i = (c_i - mean(c)) / (std(c) + eps), then scaled and shifted per group, a_i = gamma c_hat_i + beta,
    and the group's features are gated, x_hat_i = x_i * sigmoid(a_i). The only parameters are gamma and
    beta, one pair per group: 2G.

    Args:
        channels: number of input channels C; divisible by ``groups``.
        groups: number of groups G (64 in the authors' ImageNet models).
        eps: the epsilon added to the standard deviation (1e-5, the authors' code).

    Shape:
        - Input: (N, C, H, W) with H * W >= 2
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> sge = SGE(256)
        >>> sum(p.numel() for p in sge.parameters())
        128
        >>> sge(torch.randn(2, 256, 7, 7)).shape
        torch.Size([2, 256, 7, 7])
    """

    def __init__(self, channels: int, groups: int = 64, eps: float = 1e-5):
        super().__init__()
        if channels < 1 or groups < 1:
            raise ValueError(f"channels and groups must be positive, got {channels} and {groups}")
        if channels % groups != 0:
            raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.channels = channels
        self.groups = groups
        self.eps = float(eps)
        # gamma, beta of Sec. 3, one per group. Initialised as in the authors' code (weight 0, bias 1), so
        # every gate starts at sigmoid(1) and the module starts as a constant rescale.
        self.weight = nn.Parameter(torch.zeros(1, groups, 1, 1))
        self.bias = nn.Parameter(torch.ones(1, groups, 1, 1))

    def extra_repr(self) -> str:
        return f"groups={self.groups}, eps={self.eps}"

    def importance(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised importance c_hat_i of every position in every group, shape (N, G, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        n, c, h, w = x.shape
        if h * w < 2:
            raise ValueError(f"SGE normalises over space and needs at least 2 positions, got {(h, w)}")
        xg = x.reshape(n, self.groups, c // self.groups, h, w)  # groups of sub-features: (N, G, C/G, H, W)
        g = xg.mean(dim=(3, 4), keepdim=True)  # global feature of each group: (N, G, C/G, 1, 1)
        ci = (xg * g).sum(dim=2).flatten(2)  # c_i = g . x_i: (N, G, H W)
        ci = ci - ci.mean(dim=2, keepdim=True)  # normalise over space
        std = ci.std(dim=2, keepdim=True) + self.eps  # unbiased std, eps outside the root (authors' code)
        return (ci / std).reshape(n, self.groups, h, w)  # (N, G, H, W)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """sigmoid(gamma c_hat + beta): one gate per (sample, group, position), shape (N, G, H, W)."""
        return torch.sigmoid(self.importance(x) * self.weight + self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        a = self.gate(x)  # (N, G, H, W)
        out = x.reshape(n, self.groups, c // self.groups, h, w) * a[:, :, None]  # x_hat_i = x_i * sigmoid(a_i)
        return out.reshape(n, c, h, w)
