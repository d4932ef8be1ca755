"""Style-based Recalibration Module (Lee, Kim, Nam: "SRM: A Style-based Recalibration Module for Convolutional
Neural Networks", ICCV 2019, arXiv:1903.10829)."""

import torch
from torch import nn


class SRM(nn.Module):
    """Channel gate from each channel's style (mean and standard deviation), integrated channel by channel.

    Style pooling summarises every channel by its spatial mean and standard deviation, t_c = (mu_c, sigma_c).
    Style integration combines the two with a channel-wise fully connected layer (CFC: two weights per
    channel, no mixing across channels), z_c = w_c . t_c, normalises z with BatchNorm and gates the input
    with sigmoid(BN(z)): y_c = x_c * g_c. Layout and initialisation follow the authors' ``SRMLayer``.

    Args:
        channels: number of input channels C.
        eps: added to the variance under the square root; 0 (the default) is ``torch.std`` as in the
            authors' code, a small positive value keeps gradients finite on constant channels.

    Shape:
        - Input: (N, C, H, W) with H * W >= 2 (the standard deviation needs two positions)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> srm = SRM(64)
        >>> srm(torch.randn(2, 64, 8, 8)).shape, sum(p.numel() for p in srm.parameters())
        (torch.Size([2, 64, 8, 8]), 256)
    """

    def __init__(self, channels: int, eps: float = 0.0):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.channels = channels
        self.eps = float(eps)
        # CFC: one weight per (channel, style feature); zero-initialised as in the authors' SRMLayer
        self.cfc = nn.Parameter(torch.zeros(channels, 2))
        self.bn = nn.BatchNorm2d(channels)  # BN over the style-integrated z (authors' SRMLayer)

    def style_pooling(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel style features t = (mean, std) over H x W.

        Args:
            x: feature map (N, C, H, W).

        Returns:
            The style tensor (N, C, 2): spatial mean and standard deviation (divisor H*W - 1, as ``torch.std``).
        """
        flat = x.flatten(2)  # (N, C, HW)
        mean = flat.mean(dim=2)  # (N, C)
        std = torch.sqrt(flat.var(dim=2, unbiased=True) + self.eps)  # (N, C); eps = 0 is torch.std
        return torch.stack((mean, std), dim=2)  # (N, C, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if x.shape[2] * x.shape[3] < 2:
            raise ValueError(f"style pooling needs H * W >= 2 for a standard deviation, got {tuple(x.shape[2:])}")
        t = self.style_pooling(x)  # style pooling: (N, C, 2)
        z = (t * self.cfc.to(t.dtype)).sum(dim=2)  # style integration, CFC: (N, C)
        g = torch.sigmoid(self.bn(z[:, :, None, None]))  # BN + sigmoid: (N, C, 1, 1)
        return x * g  # recalibration: (N, C, H, W)
