"""Concurrent spatial and channel squeeze & excitation (Roy, Navab, Wachinger: "Concurrent Spatial and Channel
'Squeeze & Excitation' in Fully Convolutional Networks", MICCAI 2018, arXiv:1803.02579)."""

import torch
from torch import nn


class SCSE(nn.Module):
    """Channel SE (cSE) and spatial SE (sSE) run side by side on the same input; their outputs are combined.

    cSE (Sec. 2.1) squeezes space and excites channels, as in SE: z = AvgPool(U),
    s = sigmoid(W2 relu(W1 z)) with a bottleneck of C / r units, U_cSE = s * U.
    sSE (Sec. 2.2) squeezes channels and excites space: a 1x1 convolution maps U to one map q, and
    U_sSE = sigmoid(q) * U, one gate per pixel shared by all channels.
    scSE (Sec. 2.3) combines the two recalibrated maps element-wise, so that a location (i, j, c) is kept
    high when either re-scaling finds it important. The paper adds them; the authors' released code takes
    the element-wise maximum (``combine="max"``).

    Args:
        channels: number of input channels C.
        reduction: reduction ratio r of the cSE bottleneck (2, the default of the authors' code).
        combine: "add" (U_cSE + U_sSE, the MICCAI paper) or "max" (max(U_cSE, U_sSE), the authors' code).
        min_hidden: lower bound on the hidden width C // r.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> scse = SCSE(64)
        >>> scse(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, channels: int, reduction: int = 2, combine: str = "add", min_hidden: int = 1):
        super().__init__()
        if channels < 1 or reduction < 1 or min_hidden < 1:
            raise ValueError(f"channels, reduction and min_hidden must be positive, got {channels}, {reduction} "
                             f"and {min_hidden}")
        if combine not in ("add", "max"):
            raise ValueError(f"combine must be 'add' or 'max', got {combine!r}")
        self.channels = channels
        self.combine = combine
        hidden = max(channels // reduction, min_hidden)
        self.fc1 = nn.Linear(channels, hidden)  # W1 of cSE (with bias, as in the authors' code)
        self.fc2 = nn.Linear(hidden, channels)  # W2 of cSE
        self.conv = nn.Conv2d(channels, 1, 1)  # W_sq of sSE: C -> 1 map (with bias, as in the authors' code)

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}"

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """The cSE gate s: one value in (0, 1) per (sample, channel), shape (N, C, 1, 1)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        z = x.mean(dim=(2, 3))  # spatial squeeze: (N, C)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))[:, :, None, None]  # channel excitation

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """The sSE gate sigmoid(q): one value in (0, 1) per (sample, pixel), shape (N, 1, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return torch.sigmoid(self.conv(x))  # channel squeeze, spatial excitation: (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u_cse = x * self.channel_gate(x)  # cSE output: (N, C, H, W)
        u_sse = x * self.spatial_gate(x)  # sSE output: (N, C, H, W)
        if self.combine == "max":  # the authors' code: torch.max(cSE(x), sSE(x))
            return torch.maximum(u_cse, u_sse)
        return u_cse + u_sse  # Sec. 2.3: U_scSE = U_cSE + U_sSE
