"""SimAM (Yang, Zhang, Li, Xie: "SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural
Networks", ICML 2021, PMLR 139:11863-11874)."""

import torch
from torch import nn


class SimAM(nn.Module):
    """Parameter-free 3-D attention: every neuron is weighted by the inverse of its minimal energy.

    Sec. 3.1 defines for each neuron t of a channel an energy that is low when t is linearly separable from
    the other M - 1 = H W - 1 neurons of its channel. Its closed-form minimum (Eq. 5) is

        e_t* = 4 (sigma^2 + lambda) / ((t - mu)^2 + 2 sigma^2 + 2 lambda),

    with mu and sigma^2 the mean and variance of the channel, and lambda a regulariser. Lower energy means a
    more distinctive, more important neuron, so the module refines the features with the importance 1 / e_t*
    through a sigmoid (Eq. 6): X_out = sigmoid(1 / E) * X, E grouping all e_t* over channels and space.

    1 / e_t* = (t - mu)^2 / (4 (sigma^2 + lambda)) + 1/2 is what is computed, as in the authors' code, with
    sigma^2 = sum (t - mu)^2 / (H W - 1) (the authors' n = H * W - 1).

    Args:
        channels: number of channels C (unused: the module has no parameters; kept for the feature_map contract).
        e_lambda: the regulariser lambda of Eq. 5 (1e-4, the default of the authors' module; their ImageNet
            training commands pass 0.1).
        unbiased: divide the sum of squares by H W - 1 (True, the authors' code) or by H W (False).

    Shape:
        - Input: (N, C, H, W) with H * W >= 2
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> simam = SimAM(64)
        >>> sum(p.numel() for p in simam.parameters())
        0
        >>> simam(torch.randn(2, 64, 7, 5)).shape
        torch.Size([2, 64, 7, 5])
    """

    def __init__(self, channels: int | None = None, e_lambda: float = 1e-4, unbiased: bool = True):
        super().__init__()
        if channels is not None and channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        if not e_lambda > 0:
            raise ValueError(f"e_lambda must be positive, got {e_lambda}")
        self.channels = channels
        self.e_lambda = float(e_lambda)
        self.unbiased = bool(unbiased)

    def extra_repr(self) -> str:
        return f"e_lambda={self.e_lambda}, unbiased={self.unbiased}"

    def inverse_energy(self, x: torch.Tensor) -> torch.Tensor:
        """The importance 1 / e_t* of every neuron (Eq. 5), before the sigmoid.

        Args:
            x: input feature map (N, C, H, W).

        Returns:
            1 / E, of the same shape as x; every value is >= 1/2.
        """
        if x.dim() != 4 or (self.channels is not None and x.shape[1] != self.channels):
            c = self.channels if self.channels is not None else "C"
            raise ValueError(f"expected input of shape (N, {c}, H, W), got {tuple(x.shape)}")
        m = x.shape[2] * x.shape[3]  # M = H * W neurons in the channel
        n = m - 1 if self.unbiased else m  # the authors' code divides by n = H * W - 1
        if m < 2:
            raise ValueError(f"SimAM needs at least 2 spatial positions per channel, got {tuple(x.shape[2:])}")
        d = (x - x.mean(dim=(2, 3), keepdim=True)).square()  # (t - mu)^2: (N, C, H, W)
        var = d.sum(dim=(2, 3), keepdim=True) / n  # sigma^2: (N, C, 1, 1)
        return d / (4 * (var + self.e_lambda)) + 0.5  # 1 / e_t*, Eq. 5 inverted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.inverse_energy(x))  # Eq. 6
