"""MnasNet (Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le: "MnasNet: Platform-Aware Neural Architecture
Search for Mobile", CVPR 2019, arXiv:1807.11626), the B1 variant (no squeeze-and-excitation) that
torchvision implements.

State-dict compatible with torchvision's ``mnasnet0_5`` ... ``mnasnet1_3`` (``layers.N``, ``classifier.1``;
torchvision's version 2 layout, with a width-scaled stem), so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

# Stage widths of MnasNet-B1 at depth multiplier 1.0: stem conv, SepConv output, then the six MBConv stages.
DEPTHS: tuple[int, ...] = (32, 16, 24, 40, 80, 96, 192, 320)
# MBConv stages: (kernel, stride, expansion ratio, repeats); output widths are DEPTHS[2:].
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (3, 2, 3, 3),  # MBConv3 (k3x3), 24
    (5, 2, 3, 3),  # MBConv3 (k5x5), 40
    (5, 2, 6, 3),  # MBConv6 (k5x5), 80
    (3, 1, 6, 2),  # MBConv6 (k3x3), 96
    (5, 2, 6, 4),  # MBConv6 (k5x5), 192
    (3, 1, 6, 1),  # MBConv6 (k3x3), 320
)
BN_MOMENTUM = 1 - 0.9997  # TF decay 0.9997 as PyTorch momentum (torchvision)


def round_to_multiple_of(value: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor``, never below ``round_up_bias * value`` (torchvision).

    Args:
        value: the scaled channel count.
        divisor: the multiple.
        round_up_bias: the rounded value is at least this fraction of ``value``.

    Returns:
        The rounded channel count.

    Examples:
        >>> round_to_multiple_of(83), round_to_multiple_of(84), round_to_multiple_of(16 * 0.5)
        (80, 88, 8)
    """
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError(f"round_up_bias must be in (0, 1), got {round_up_bias}")
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new if new >= round_up_bias * value else new + divisor


def scaled_depths(alpha: float) -> list[int]:
    """The widths of every stage at depth multiplier ``alpha`` (torchvision ``_get_depths``)."""
    return [round_to_multiple_of(d * alpha, 8) for d in DEPTHS]


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2's block, Fig. 7 (b) in the paper's notation MBConv).

    ``1x1 conv (C -> tC), BN, ReLU -> kxk depthwise (stride s), BN, ReLU -> 1x1 conv (tC -> C'), BN`` (linear),
    with an identity shortcut when stride 1 and C == C'. Module names (``layers.0`` ... ``layers.7``) are
    torchvision's ``_InvertedResidual``.

    Args:
        in_channels: C.
        out_channels: C'.
        kernel_size: 3 or 5.
        stride: 1 or 2.
        expansion: t (3 or 6).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expansion: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size must be 3 or 5, got {kernel_size}")
        mid = in_channels * expansion
        self.stride, self.kernel_size, self.expansion = stride, kernel_size, expansion
        self.apply_residual = in_channels == out_channels and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False),  # pointwise expansion
            nn.BatchNorm2d(mid, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel_size, stride, kernel_size // 2, groups=mid, bias=False),  # depthwise
            nn.BatchNorm2d(mid, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1, bias=False),  # linear projection (no activation)
            nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return out + x if self.apply_residual else out  # Python bool fixed at construction


class MNASNet(nn.Module):
    """MnasNet-B1 for ImageNet classification, torchvision layout.

    ``conv 3x3/2, 32`` -> ``SepConv 3x3, 16`` -> six MBConv stages (24, 40, 80, 96, 192, 320 channels) ->
    ``conv 1x1, 1280`` -> global average pool -> dropout -> FC. All widths up to 320 are multiplied by
    ``alpha`` and rounded to multiples of 8; the 1280-channel head is not scaled.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        alpha: the depth (width) multiplier (0.5, 0.75, 1.0, 1.3 in torchvision).
        dropout: dropout probability before the classifier (0.2, torchvision).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 1 (downsampling by 32, then a global pool).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = MNASNet(num_classes=10, alpha=0.5)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, alpha: float = 1.0, dropout: float = 0.2):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.num_classes, self.in_chans, self.alpha = num_classes, in_chans, alpha
        d = scaled_depths(alpha)
        layers: list[nn.Module] = [
            nn.Conv2d(in_chans, d[0], 3, 2, 1, bias=False),  # Conv 3x3, stride 2
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, 1, 1, groups=d[0], bias=False),  # SepConv (k3x3): depthwise ...
            nn.BatchNorm2d(d[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, bias=False),  # ... then linear pointwise to 16, no skip
            nn.BatchNorm2d(d[1], momentum=BN_MOMENTUM),
        ]
        channels = d[1]
        for (k, s, t, n), out in zip(STAGES, d[2:]):
            # The first block of a stage has the stride (and no skip); the other n - 1 have stride 1.
            blocks = [MBConv(channels, out, k, s, t)] + [MBConv(out, out, k, 1, t) for _ in range(n - 1)]
            layers.append(nn.Sequential(*blocks))
            channels = out
        layers += [
            nn.Conv2d(channels, 1280, 1, bias=False),  # final 1x1 conv to 1280 (not width-scaled)
            nn.BatchNorm2d(1280, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.num_features = 1280
        # Deviation: dropout (torchvision's 0.2) before the FC layer; the paper does not list it.
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialization (the paper gives none).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The 1280-channel map before pooling: (N, 1280, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.layers(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x).mean((2, 3))  # global average pool -> (N, 1280)
        return self.classifier(x)  # (N, num_classes)
