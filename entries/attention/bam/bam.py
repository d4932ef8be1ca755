"""Bottleneck Attention Module (Park, Woo, Lee, Kweon: "BAM: Bottleneck Attention Module", BMVC 2018,
arXiv:1807.06514)."""

import torch
from torch import nn


class BAM(nn.Module):
    """A channel branch and a spatial branch, summed into one 3-D attention map, applied residually.

    Sec. 3, Eq. 1 refines a feature map F as F' = F + F * M(F), with the 3-D attention map
    M(F) = sigmoid(M_c(F) + M_s(F)) (Eq. 2), both branches broadcast to C x H x W before the sum.
    The channel branch (Eq. 3) is M_c(F) = BN(MLP(AvgPool(F))), an MLP C -> C/r -> C. The spatial
    branch (Eq. 4) is M_s(F) = BN(f3_1x1(f2_3x3(f1_3x3(f0_1x1(F))))): a 1x1 convolution reduces C to
    C/r, two 3x3 convolutions with dilation d enlarge the receptive field, and a 1x1 convolution gives
    one map. The paper uses r = 16 and d = 4 (Sec. 4.1, ablation on CIFAR-100).

    Args:
        channels: number of input channels C.
        reduction: reduction ratio r of both branches (16 in the paper).
        dilation: dilation d of the 3x3 convolutions of the spatial branch (4 in the paper).
        num_dilated: number of dilated 3x3 convolutions (2 in Eq. 4).
        min_hidden: lower bound on the reduced width C // r, so that narrow layers keep a branch.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> bam = BAM(64).eval()
        >>> bam(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 4, num_dilated: int = 2,
                 min_hidden: int = 1):
        super().__init__()
        if channels < 1 or reduction < 1 or min_hidden < 1:
            raise ValueError(f"channels, reduction and min_hidden must be positive, got {channels}, {reduction} "
                             f"and {min_hidden}")
        if dilation < 1 or num_dilated < 0:
            raise ValueError(f"dilation must be >= 1 and num_dilated >= 0, got {dilation} and {num_dilated}")
        self.channels = channels
        hidden = max(channels // reduction, min_hidden)  # Sec. 3: C/r in both branches
        # Channel branch, Eq. 3: BN(W1 (W0 AvgPool(F) + b0) + b1). Deviation: a ReLU after W0, as in the
        # authors' code (Eq. 3 writes the MLP without its activation).
        self.fc1 = nn.Linear(channels, hidden)  # W0, b0
        self.fc2 = nn.Linear(hidden, channels)  # W1, b1
        self.channel_norm = nn.BatchNorm1d(channels)  # the BN of Eq. 3
        # Spatial branch, Eq. 4. Deviation: BN + ReLU after f0 and after each dilated conv, as in the
        # authors' code (Eq. 4 writes the four convolutions without activations).
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU()]  # f0_1x1
        for _ in range(num_dilated):  # f1_3x3, f2_3x3 with dilation d; padding d keeps H x W
            layers += [nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation), nn.BatchNorm2d(hidden),
                       nn.ReLU()]
        layers += [nn.Conv2d(hidden, 1, 1), nn.BatchNorm2d(1)]  # f3_1x1 to one map, then the BN of Eq. 4
        self.spatial = nn.Sequential(*layers)

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """M_c(F) of Eq. 3 before the sigmoid: one value per (sample, channel), shape (N, C, 1, 1)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        z = x.mean(dim=(2, 3))  # AvgPool(F): (N, C)
        return self.channel_norm(self.fc2(torch.relu(self.fc1(z))))[:, :, None, None]  # (N, C, 1, 1)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """M_s(F) of Eq. 4 before the sigmoid: one value per (sample, pixel), shape (N, 1, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.spatial(x)  # (N, 1, H, W)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """M(F) = sigmoid(M_c(F) + M_s(F)) of Eq. 2, broadcast to (N, C, H, W)."""
        return torch.sigmoid(self.channel_attention(x) + self.spatial_attention(x))  # (N, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x * self.attention(x)  # Eq. 1: F' = F + F (x) M(F)
