"""MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov, Chen: "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018, arXiv:1801.04381).

State-dict compatible with torchvision's ``torchvision.models.mobilenet_v2`` (``features.N.conv.*``,
``classifier.1``), so its checkpoints load with ``strict=True``. The paper has no attention slot, and
none is offered here.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# Table 2: (t, c, n, s) = expansion factor, output channels, repeats, stride of the first repeat.
TABLE2: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never below 90 % of ``value``.

    The rounding of the authors' TF-slim code (``nets/mobilenet/mobilenet.py``, ``_make_divisible``),
    which torchvision copies.

    Args:
        value: the scaled channel count (e.g. ``32 * 0.75``).
        divisor: the multiple to round to.
        min_value: lower bound, ``divisor`` when None.

    Returns:
        The rounded channel count.

    Examples:
        >>> make_divisible(32 * 1.4), make_divisible(24 * 0.35), make_divisible(16 * 0.35)
        (48, 8, 8)
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:  # do not round down by more than 10 %
        new += divisor
    return new


class ConvBNReLU6(nn.Sequential):
    """Convolution -> BatchNorm -> ReLU6 (Sec. 3.1 / Table 1), torchvision's ``Conv2dNormActivation`` keys.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: 1 or 3.
        stride: convolution stride.
        groups: ``in_channels`` for the depthwise convolution, else 1.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                      bias=False),  # keys .0.weight
            nn.BatchNorm2d(out_channels),  # BN after every convolution (Table 1); keys .1.*
            nn.ReLU6(inplace=True),  # Sec. 3.1 / Table 1: ReLU6 for its robustness at low precision
        )


class InvertedResidual(nn.Module):
    """The bottleneck residual block of Table 1 / Fig. 3(b): expand, depthwise, *linear* projection.

    ``1x1 conv (k -> tk), BN, ReLU6 -> 3x3 depthwise (stride s), BN, ReLU6 -> 1x1 conv (tk -> k'), BN``.
    The last 1x1 convolution has no nonlinearity (the *linear bottleneck*, Sec. 3.2). The shortcut
    connects the thin bottlenecks (Sec. 3.3) and exists only when the stride is 1 and k == k'
    (Fig. 4(d): stride-2 blocks have none). With t = 1 the expansion convolution is left out, as in the
    authors' code and torchvision (it would be a 1x1 k -> k layer).

    Args:
        in_channels: k, channels of the input bottleneck.
        out_channels: k', channels of the output bottleneck.
        stride: s of the depthwise convolution (1 or 2).
        expand_ratio: t, the expansion factor of Table 1.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2 (Table 2), got {stride}")
        if expand_ratio < 1:
            raise ValueError(f"expand_ratio t must be >= 1, got {expand_ratio}")
        hidden = int(round(in_channels * expand_ratio))  # tk (Table 1)
        self.stride, self.expand_ratio = stride, expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels  # Fig. 4(d), Sec. 3.3
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(in_channels, hidden, kernel_size=1))  # expansion: (N, tk, H, W)
        layers += [
            ConvBNReLU6(hidden, hidden, kernel_size=3, stride=stride, groups=hidden),  # depthwise: (N, tk, H/s, W/s)
            nn.Conv2d(hidden, out_channels, 1, bias=False),  # Sec. 3.2: linear projection, no ReLU6
            nn.BatchNorm2d(out_channels),  # (N, k', H/s, W/s)
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        # A Python bool fixed at construction: no data-dependent control flow (torch.compile friendly).
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """MobileNetV2 for ImageNet classification (Sec. 4, Table 2), torchvision layout.

    ``conv2d 3x3/2, 32`` -> 17 bottleneck blocks given by Table 2's (t, c, n, s) rows -> ``conv2d 1x1, 1280``
    -> global average pool -> dropout -> linear classifier. Every width c is multiplied by ``width_mult``
    and rounded to a multiple of 8 (the authors' TF-slim rule); the last 1x1 convolution keeps 1280
    channels for multipliers below 1 (the authors' TF-slim code and torchvision: the multiplier scales the
    last layer only upwards, which helps small models).

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        width_mult: the width multiplier (0.35 ... 1.4, the authors' released checkpoints).
        round_nearest: channel counts are rounded to multiples of this (8 in the authors' code; 1 turns
            rounding off).
        dropout: dropout probability before the classifier (0.2, torchvision; the paper says nothing).
        inverted_residual_setting: the (t, c, n, s) rows; Table 2 when None.

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 1 (a global average pool precedes the classifier; the
          network downsamples by 32).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = MobileNetV2(num_classes=10, width_mult=0.5)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, width_mult: float = 1.0,
                 round_nearest: int = 8, dropout: float = 0.2,
                 inverted_residual_setting: Sequence[Sequence[int]] | None = None):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        if round_nearest < 1:
            raise ValueError(f"round_nearest must be >= 1, got {round_nearest}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        setting = [tuple(row) for row in (TABLE2 if inverted_residual_setting is None else inverted_residual_setting)]
        if not setting or any(len(row) != 4 for row in setting):
            raise ValueError(f"inverted_residual_setting must be non-empty rows (t, c, n, s), got {setting}")
        self.num_classes, self.in_chans, self.width_mult = num_classes, in_chans, width_mult

        input_channel = make_divisible(32 * width_mult, round_nearest)  # Table 2 row 1: conv2d, 32, s = 2
        # TF-slim / torchvision: the last conv is not narrowed for multipliers < 1 (max(1, w)).
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNReLU6(in_chans, input_channel, stride=2)]  # (N, 32w, H/2, W/2)
        for t, c, n, s in setting:  # Table 2
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                # Table 2 caption: the first layer of each sequence has stride s, all others stride 1.
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))  # conv2d 1x1, 1280
        self.features = nn.Sequential(*features)
        self.num_features = self.last_channel
        # Deviation: Table 2 ends with a 1x1 convolution "conv2d 1x1, k" as the classifier; torchvision
        # (and this code) use dropout + nn.Linear, which holds the same weights (keys classifier.1.*).
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # The paper gives no initialization; torchvision's: kaiming-normal (fan-out) convolutions,
        # BN scale 1 / shift 0, classifier N(0, 0.01) with zero bias.
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
        """The output of the last 1x1 convolution before pooling: (N, last_channel, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)  # (N, 1280, H/32, W/32) at width <= 1
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)  # Table 2: avgpool 7x7 at 224 -> (N, 1280)
        return self.classifier(x)  # (N, num_classes) logits
