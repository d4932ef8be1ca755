"""Convolutional Block Attention Module (Woo, Park, Lee, Kweon: "CBAM: Convolutional Block Attention Module",
ECCV 2018, arXiv:1807.06521)."""

import torch
from torch import nn


class CBAM(nn.Module):
    """Channel attention, then spatial attention, each a sigmoid gate multiplied into the features.

    Sec. 3, Eq. 1 refines a feature map F in sequence: F' = M_c(F) * F, then F'' = M_s(F') * F'.
    The channel map (Eq. 2) passes the spatially average- and max-pooled descriptors through one
    shared MLP (C -> C/r -> C, ReLU after the first layer), adds the two outputs and applies a
    sigmoid: M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F))), one gate per channel. The spatial
    map (Eq. 3) pools F' along the channel axis into an average and a max map, concatenates them and
    convolves them with one 7 x 7 filter: M_s(F') = sigmoid(f7x7([AvgPool(F'); MaxPool(F')])), one
    gate per pixel shared by all channels.

    Args:
        channels: number of input channels C.
        reduction: reduction ratio r of the shared MLP's hidden layer (16 in the authors' models).
        kernel_size: size of the spatial attention convolution (7 x 7 in Eq. 3); odd.
        min_hidden: lower bound on the hidden width C // r, so that narrow layers keep a gate.
        bias: whether the MLP layers carry biases (the authors' code: yes; Eq. 2 writes weights only).
        spatial_norm: add a BatchNorm2d(1) after the spatial convolution, as the authors' code does
            (not in the paper).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> cbam = CBAM(64)
        >>> cbam(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        min_hidden: int = 1,
        bias: bool = True,
        spatial_norm: bool = False,
    ):
        super().__init__()
        if channels < 1 or reduction < 1 or min_hidden < 1:
            raise ValueError(f"channels, reduction and min_hidden must be positive, got {channels}, {reduction} "
                             f"and {min_hidden}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number (the output keeps H x W), got {kernel_size}")
        self.channels = channels
        hidden = max(channels // reduction, min_hidden)  # Sec. 3: hidden activation size C/r
        # Shared MLP of Eq. 2: W0 (C/r x C), ReLU, W1 (C x C/r). Deviation: biases, as in the authors' code.
        self.fc1 = nn.Linear(channels, hidden, bias=bias)  # W0
        self.fc2 = nn.Linear(hidden, channels, bias=bias)  # W1
        # f^{7x7} of Eq. 3: 2 maps in, 1 map out, "same" padding.
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        # Deviation (opt-in): the authors' code follows the conv with a BatchNorm2d(1).
        self.norm = nn.BatchNorm2d(1) if spatial_norm else nn.Identity()

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """M_c(F) of Eq. 2: one gate in (0, 1) per (sample, channel), shape (N, C, 1, 1)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))])  # F_avg^c; F_max^c stacked: (2N, C)
        out = self.fc2(torch.relu(self.fc1(pooled)))  # the shared MLP, one pass for both descriptors: (2N, C)
        avg, mx = out.chunk(2)  # (N, C) each
        return torch.sigmoid(avg + mx)[:, :, None, None]  # Eq. 2: (N, C, 1, 1)

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """M_s(F) of Eq. 3: one gate in (0, 1) per (sample, pixel), shape (N, 1, H, W)."""
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # [F_avg^s; F_max^s]: (N, 2, H, W)
        return torch.sigmoid(self.norm(self.conv(pooled)))  # Eq. 3: (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_gate(x)  # F' = M_c(F) * F, Eq. 1: (N, C, H, W)
        return x * self.spatial_gate(x)  # F'' = M_s(F') * F', Eq. 1: (N, C, H, W)
