"""Gather-Excite (Hu, Shen, Albanie, Sun, Vedaldi: "Gather-Excite: Exploiting Feature Context in Convolutional
Neural Networks", NeurIPS 2018, arXiv:1810.12348)."""

import torch
from torch import nn


class GatherExcite(nn.Module):
    """Gather context over the whole feature map, then excite every position with a sigmoid of it.

    The framework pairs a *gather* operator, which aggregates responses over a spatial extent, with an
    *excite* operator, which resizes the gathered context back to H x W (nearest-neighbour interpolation)
    and rescales the input with its sigmoid: y = x * sigmoid(interp(gather(x))). With a global extent the
    gathered context is one value per channel, so the interpolation is a broadcast.

    Two global pairings are implemented, as in the authors' released Caffe models:

    - GE-θ⁻ (``parametric=False``, the default, ``RN50-GEPF``): the gather is a global average pool, no
      parameters at all.
    - GE-θ (``parametric=True``, ``RN50-GEP``): the gather is a depth-wise convolution whose kernel spans
      the whole H x W map (no bias), followed by BatchNorm; it needs the feature-map size up front.

    Args:
        channels: number of input channels C.
        parametric: False for GE-θ⁻ (average-pooling gather), True for GE-θ (depth-wise convolution gather).
        spatial_size: (H, W) or an int for a square map; required by GE-θ, whose gather kernel is H x W,
            and ignored by GE-θ⁻, which works at any size.

    Shape:
        - Input: (N, C, H, W); GE-θ needs (H, W) == spatial_size.
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> ge = GatherExcite(64)
        >>> ge(torch.randn(2, 64, 9, 7)).shape, sum(p.numel() for p in ge.parameters())
        (torch.Size([2, 64, 9, 7]), 0)
        >>> GatherExcite(64, parametric=True, spatial_size=14)(torch.randn(2, 64, 14, 14)).shape
        torch.Size([2, 64, 14, 14])
    """

    def __init__(self, channels: int, parametric: bool = False, spatial_size: int | tuple[int, int] | None = None):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        self.channels = channels
        self.parametric = bool(parametric)
        if isinstance(spatial_size, int):
            spatial_size = (spatial_size, spatial_size)
        self.spatial_size = tuple(spatial_size) if spatial_size is not None else None
        if self.parametric:
            if self.spatial_size is None or len(self.spatial_size) != 2 or min(self.spatial_size) < 1:
                raise ValueError("GE-θ (parametric=True) gathers with a depth-wise kernel as large as the feature map: "
                                 f"pass spatial_size=(H, W) with positive sides, got {spatial_size}")
            # GE-θ gather, global extent: one H x W depth-wise filter per channel, no bias, then BN (RN50-GEP.prototxt)
            self.gather = nn.Conv2d(channels, channels, self.spatial_size, groups=channels, bias=False)
            self.bn = nn.BatchNorm2d(channels)
        else:
            self.gather = None
            self.bn = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if self.parametric:
            if tuple(x.shape[2:]) != self.spatial_size:
                raise ValueError(f"GE-θ was built for {self.spatial_size} feature maps, got {tuple(x.shape[2:])}")
            context = self.bn(self.gather(x))  # gather: (N, C, 1, 1)
        else:
            context = x.mean(dim=(2, 3), keepdim=True)  # gather: global average pooling, (N, C, 1, 1)
        # excite: nearest-neighbour interpolation of a 1 x 1 context to H x W is a broadcast; sigmoid gate
        return x * torch.sigmoid(context)  # (N, C, H, W)
