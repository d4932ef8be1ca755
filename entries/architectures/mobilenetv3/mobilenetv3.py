"""MobileNetV3 (Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le, Adam: "Searching for
MobileNetV3", ICCV 2019, arXiv:1905.02244).

State-dict compatible with torchvision's ``mobilenet_v3_large`` / ``mobilenet_v3_small``
(``features.N.block.*``, ``classifier.0`` / ``classifier.3``), so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

# Table 1 (Large) and Table 2 (Small), one row per bneck:
# (kernel, expansion size, output channels, SE, nonlinearity "RE" = ReLU / "HS" = h-swish, stride).
# The stem (conv2d 3x3/2, 16, HS) and the head (conv2d 1x1 -> pool -> conv2d 1x1 NBN -> classifier) are
# built in MobileNetV3.
LARGE: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, False, "RE", 1),
    (3, 64, 24, False, "RE", 2),
    (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2),
    (5, 120, 40, True, "RE", 1),
    (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2),
    (3, 200, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 480, 112, True, "HS", 1),
    (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2),
    (5, 960, 160, True, "HS", 1),
    (5, 960, 160, True, "HS", 1),
)
SMALL: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "RE", 2),
    (3, 72, 24, False, "RE", 2),
    (3, 88, 24, False, "RE", 1),
    (5, 96, 40, True, "HS", 2),
    (5, 240, 40, True, "HS", 1),
    (5, 240, 40, True, "HS", 1),
    (5, 120, 48, True, "HS", 1),
    (5, 144, 48, True, "HS", 1),
    (5, 288, 96, True, "HS", 2),
    (5, 576, 96, True, "HS", 1),
    (5, 576, 96, True, "HS", 1),
)
# (table, width of the last 1x1 conv before pooling, width of the 1x1 "NBN" conv after pooling)
ARCHS = {"large": (LARGE, 960, 1280), "small": (SMALL, 576, 1024)}


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never below 90 % of ``value``.

    The rounding of the authors' TF code (``_make_divisible``), which torchvision copies. It sizes the SE
    squeeze layer (Sec. 5.3: "fixed to be 1/4 of the number of channels in expansion layer") and the
    width-multiplied layers.

    Args:
        value: the (scaled) channel count.
        divisor: the multiple to round to.
        min_value: lower bound, ``divisor`` when None.

    Returns:
        The rounded channel count.

    Examples:
        >>> make_divisible(72 // 4), make_divisible(960 // 4), make_divisible(88 // 4)
        (24, 240, 24)
    """
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:  # do not round down by more than 10 %
        new += divisor
    return new


def _activation(name: str) -> nn.Module:
    # Sec. 5.2: h-swish(x) = x ReLU6(x + 3) / 6 (Eq. 2 / nn.Hardswish); "RE" = ReLU.
    return nn.Hardswish(inplace=True) if name == "HS" else nn.ReLU(inplace=True)


class ConvBNAct(nn.Sequential):
    """Convolution -> BatchNorm -> activation, torchvision's ``Conv2dNormActivation`` keys (``.0``, ``.1``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size.
        stride: convolution stride.
        groups: ``in_channels`` for a depthwise convolution, else 1.
        act: "RE", "HS" or None (linear: no activation, Table 1's projection layers).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 groups: int = 1, act: str | None = "RE"):
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                      bias=False),
            # BN eps 1e-3 / momentum 0.01 as torchvision (TF defaults, decay 0.99); the paper does not say.
            nn.BatchNorm2d(out_channels, eps=0.001, momentum=0.01),
        ]
        if act is not None:
            layers.append(_activation(act))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """The SE module of Fig. 4 / Sec. 5.3 with a hard-sigmoid gate.

    ``global average pool -> 1x1 conv (C -> C/4 rounded to 8) -> ReLU -> 1x1 conv -> hard-sigmoid``, the gate
    multiplies the depthwise output. Keys ``fc1`` / ``fc2`` as torchvision's ``SqueezeExcitation``.

    Args:
        channels: C, the expansion (depthwise) channels.
        squeeze_channels: width of the bottleneck; ``make_divisible(C // 4, 8)`` when None.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)
    """

    def __init__(self, channels: int, squeeze_channels: int | None = None):
        super().__init__()
        squeeze = make_divisible(channels // 4, 8) if squeeze_channels is None else squeeze_channels
        self.fc1 = nn.Conv2d(channels, squeeze, 1)  # Sec. 5.3: 1/4 of the expansion channels
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid(inplace=True)  # Sec. 5.2 / Fig. 4: hard-sigmoid ReLU6(x + 3) / 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
        s = self.gate(self.fc2(self.relu(self.fc1(s))))  # (N, C, 1, 1) in [0, 1]
        return x * s


class InvertedResidual(nn.Module):
    """MobileNetV3 bneck (Fig. 4): MobileNetV2's inverted residual with an optional SE after the depthwise conv.

    ``[1x1 expand, BN, act] -> kxk depthwise (stride s), BN, act -> [SE] -> 1x1 project, BN`` (linear). The
    expansion layer is left out when the expansion size equals the input channels (the first Large bneck),
    as in the authors' code and torchvision. Shortcut when s = 1 and input == output channels.

    Args:
        in_channels: input channels.
        kernel: depthwise kernel size (3 or 5).
        expanded: expansion size ("exp size" column).
        out_channels: output channels ("#out").
        use_se: whether the block has SE ("SE" column).
        act: "RE" or "HS" ("NL" column).
        stride: depthwise stride ("s" column).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, kernel: int, expanded: int, out_channels: int, use_se: bool, act: str,
                 stride: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, got {kernel}")
        self.stride, self.use_se, self.act = stride, use_se, act
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, act=act))  # 1x1 expansion
        layers.append(ConvBNAct(expanded, expanded, kernel, stride, groups=expanded, act=act))  # depthwise
        if use_se:
            layers.append(SqueezeExcitation(expanded))  # Fig. 4: SE after the depthwise conv
        layers.append(ConvBNAct(expanded, out_channels, 1, act=None))  # linear projection (MobileNetV2)
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_res_connect else out  # Python bool fixed at construction


class MobileNetV3(nn.Module):
    """MobileNetV3-Large / -Small for ImageNet classification (Tables 1 and 2), torchvision layout.

    ``conv2d 3x3/2, 16, h-swish`` -> bnecks -> ``conv2d 1x1`` (960 / 576, h-swish) -> global average pool ->
    ``conv2d 1x1, NBN`` (1280 / 1024, h-swish; here ``nn.Linear``) -> dropout -> classifier. The head is the
    redesigned "efficient last stage" of Sec. 5.1 / Fig. 5.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        arch: "large" (Table 1) or "small" (Table 2).
        width_mult: multiplier of every channel count (the paper's "multiplier" models), rounded to multiples
            of 8 as in torchvision.
        dropout: dropout probability before the classifier (0.2, torchvision; the paper does not say).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 1 (downsampling by 32, then a global pool).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = MobileNetV3(num_classes=10, arch="small")
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, arch: str = "large", width_mult: float = 1.0,
                 dropout: float = 0.2):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {arch!r}")
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.num_classes, self.in_chans, self.arch, self.width_mult = num_classes, in_chans, arch, width_mult
        table, _, head = ARCHS[arch]
        scale = lambda c: make_divisible(c * width_mult, 8)  # noqa: E731

        channels = scale(16)
        features: list[nn.Module] = [ConvBNAct(in_chans, channels, 3, 2, act="HS")]  # Tables 1-2: conv2d, 16, HS, s2
        for kernel, expanded, out, use_se, act, stride in table:
            features.append(InvertedResidual(channels, kernel, scale(expanded), scale(out), use_se, act, stride))
            channels = scale(out)
        last = 6 * channels  # Tables 1-2: conv2d 1x1 to 960 (Large) / 576 (Small), 6x the last bneck width
        features.append(ConvBNAct(channels, last, 1, act="HS"))
        self.features = nn.Sequential(*features)
        self.num_features = last
        self.head_channels = scale(head)  # 1280 / 1024, torchvision scales it with width_mult as well
        # Tables 1-2: pool 7x7 -> conv2d 1x1 NBN (1280 / 1024), HS -> conv2d 1x1 NBN, k. On a 1x1 map a 1x1
        # convolution is a linear layer; torchvision (and this code) use nn.Linear (keys classifier.0 / .3).
        self.classifier = nn.Sequential(
            nn.Linear(last, self.head_channels),
            nn.Hardswish(inplace=True),
            nn.Dropout(dropout),  # Deviation: dropout before the classifier, torchvision's 0.2
            nn.Linear(self.head_channels, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialization (the paper gives none).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the last 1x1 convolution before pooling: (N, 960 | 576, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = x.mean((2, 3))  # Tables 1-2: pool 7x7 at 224 -> (N, C)
        return self.classifier(x)  # (N, num_classes)

