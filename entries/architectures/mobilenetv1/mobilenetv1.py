"""MobileNetV1 (Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam: "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications", arXiv:1704.04861, 2017).

A plain stack of depthwise separable convolutions (Table 1). torchvision ships no MobileNetV1, so the
module names are this entry's own: ``features.0`` (the full 3x3 stem), ``features.1`` ... ``features.13``
(depthwise separable layers, each ``dw`` + ``pw``) and ``classifier``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# Table 1 body after the stem: (stride of the 3x3 depthwise conv, output channels of the 1x1 pointwise conv).
# Table 1 prints "Conv dw / s2" for the 13th depthwise layer, whose input and output are both 7x7x1024:
# the stride is 1 (as in the authors' TF-slim code, nets/mobilenet_v1.py, MOBILENETV1_CONV_DEFS).
TABLE1: tuple[tuple[int, int], ...] = (
    (1, 64),
    (2, 128),
    (1, 128),
    (2, 256),
    (1, 256),
    (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),  # "5x" rows of Table 1
    (2, 1024),
    (1, 1024),
)
STEM_CHANNELS = 32  # Table 1 row 1: Conv / s2, 3x3x3x32


def scale_channels(channels: int, width_mult: float, min_depth: int = 8) -> int:
    """Apply the width multiplier alpha (Sec. 3.3): ``alpha * channels``, truncated, at least ``min_depth``.

    The truncation and the floor of 8 channels are the authors' TF-slim rule
    (``depth = lambda d: max(int(d * depth_multiplier), min_depth)``); the paper only says that the number
    of channels M becomes alpha M.

    Args:
        channels: the channel count of Table 1.
        width_mult: the width multiplier alpha, in (0, 1] in the paper.
        min_depth: the smallest channel count.

    Returns:
        The scaled channel count.

    Examples:
        >>> scale_channels(1024, 0.75), scale_channels(32, 0.25), scale_channels(32, 0.1)
        (768, 8, 8)
    """
    return max(int(channels * width_mult), min_depth)


class ConvBNReLU(nn.Sequential):
    """Convolution -> BatchNorm -> ReLU, the unit of Fig. 3 (every layer but the classifier).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: 1 or 3.
        stride: convolution stride.
        groups: ``in_channels`` for a depthwise convolution, else 1.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                      bias=False),  # no bias: BN follows (Fig. 3)
            nn.BatchNorm2d(out_channels),  # Sec. 3.2: "All layers are followed by a batchnorm"
            nn.ReLU(inplace=True),  # ... "and ReLU nonlinearity"
        )


class DepthwiseSeparable(nn.Module):
    """A depthwise separable convolution (Sec. 3.1, Fig. 2 (b)+(c), Fig. 3 right).

    ``3x3 depthwise conv (stride s), BN, ReLU -> 1x1 pointwise conv, BN, ReLU``. Its cost
    ``D_K^2 M D_F^2 + M N D_F^2`` (Eq. 5) is ``1/N + 1/D_K^2`` of a standard convolution's (Eq. 2).

    Args:
        in_channels: M, the input channels (also the depthwise channels).
        out_channels: N, the output channels of the pointwise convolution.
        stride: stride of the depthwise convolution (downsampling happens there, Sec. 3.2).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        self.dw = ConvBNReLU(in_channels, in_channels, 3, stride, groups=in_channels)  # Eq. 3: one filter/channel
        self.pw = ConvBNReLU(in_channels, out_channels, 1)  # 1x1 conv combines the channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))  # (N, M, H, W) -> (N, M, H/s, W/s) -> (N, N_out, H/s, W/s)


class MobileNetV1(nn.Module):
    """MobileNetV1 for ImageNet classification (Sec. 3.2, Table 1).

    ``conv 3x3/2, 32`` -> 13 depthwise separable layers -> global average pool -> fully connected layer
    (no nonlinearity, Sec. 3.2). Every channel count is multiplied by the width multiplier alpha
    (Sec. 3.3); the resolution multiplier rho (Sec. 3.4) is simply the input size.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        width_mult: the width multiplier alpha (1.0, 0.75, 0.5, 0.25 in the paper).
        min_depth: no layer gets fewer channels than this (8, TF-slim).
        dropout: dropout probability before the classifier (0: the paper uses none, Sec. 3.2 notes that
            small models need little regularization).
        layers: the (stride, channels) rows after the stem; Table 1 when None.

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 1 (the network downsamples by 32, then pools globally).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = MobileNetV1(num_classes=10, width_mult=0.25)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, width_mult: float = 1.0,
                 min_depth: int = 8, dropout: float = 0.0, layers: Sequence[Sequence[int]] | None = None):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        if min_depth < 1:
            raise ValueError(f"min_depth must be >= 1, got {min_depth}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        rows = [tuple(r) for r in (TABLE1 if layers is None else layers)]
        if not rows or any(len(r) != 2 or r[0] not in (1, 2) or r[1] < 1 for r in rows):
            raise ValueError(f"layers must be non-empty rows (stride in {{1, 2}}, channels >= 1), got {rows}")
        self.num_classes, self.in_chans, self.width_mult = num_classes, in_chans, width_mult

        channels = scale_channels(STEM_CHANNELS, width_mult, min_depth)
        features: list[nn.Module] = [ConvBNReLU(in_chans, channels, 3, 2)]  # Table 1: Conv / s2 -> 112x112x32
        for stride, out in rows:  # Table 1: Conv dw / s + Conv / s1 (1x1)
            out = scale_channels(out, width_mult, min_depth)
            features.append(DepthwiseSeparable(channels, out, stride))
            channels = out
        self.features = nn.Sequential(*features)
        self.num_features = channels
        # Table 1: Avg Pool / s1 (7x7 at 224), FC / s1 1024 x 1000, Softmax (the softmax lives in the loss).
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # The paper gives no initialization; the torchvision convention used by MobileNetV2 here:
        # kaiming-normal (fan-out) convolutions, BN scale 1 / shift 0, classifier N(0, 0.01).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the last depthwise separable layer: (N, 1024 alpha, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)  # (N, 1024, 7, 7) at 224
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)  # Table 1: Avg Pool 7x7 -> (N, 1024)
        return self.classifier(x)  # (N, num_classes) logits
