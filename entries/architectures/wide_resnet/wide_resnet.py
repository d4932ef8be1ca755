"""Wide Residual Networks (Zagoruyko, Komodakis: "Wide Residual Networks", BMVC 2016, arXiv:1605.07146).

Two families from the paper:

- ``style="cifar"``: WRN-d-k of Table 1, pre-activation basic blocks (BN-ReLU-conv3x3, twice) with widths
  16k, 32k, 64k in three groups of N = (d - 4) / 6 blocks, for 32 x 32 inputs (CIFAR, SVHN).
- ``style="imagenet"``: WRN-50-2-bottleneck of Sec. 4 (ImageNet): ResNet-50/101 whose bottleneck 3x3 (and
  the 1x1 convolutions around it) are k times wider; state-dict compatible with torchvision's
  ``wide_resnet50_2`` / ``wide_resnet101_2``.

Both take an attention block in every residual branch through ``attn_layer``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

AttnFactory = Callable[[int], nn.Module]

_IMAGENET_LAYERS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _attention(attn_layer: AttnFactory | None, channels: int) -> nn.Module:
    """The block's attention module; nn.Identity holds no parameters or buffers, so it adds no state-dict key."""
    if attn_layer is None:
        return nn.Identity()
    module = attn_layer(channels)
    if not isinstance(module, nn.Module):
        raise ValueError(f"attn_layer({channels}) must return an nn.Module, got {type(module).__name__}")
    return module


class WideBasicBlock(nn.Module):
    """B(3,3) pre-activation block of Fig. 1(c)/(d): BN-ReLU-conv3x3 [-dropout] -BN-ReLU-conv3x3, plus shortcut.

    Args:
        in_channels: input channels.
        out_channels: channels of both 3x3 convolutions (16k, 32k or 64k, Table 1).
        stride: stride of the first convolution (2 in the first block of conv3 and conv4).
        dropout: dropout probability between the two convolutions (Fig. 1(d), Sec. 2.4); 0 disables it.
        attn_layer: factory ``channels -> module`` applied to the residual branch before the addition.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0,
                 attn_layer: AttnFactory | None = None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)  # Sec. 2: pre-activation, BN-ReLU-conv (He et al. 2016b)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()  # Sec. 2.4: between the convs
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.attn = _attention(attn_layer, out_channels)
        self.relu = nn.ReLU(inplace=False)
        # Where the shape changes, a 1x1 projection of the pre-activated input (the authors' code).
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = self.relu(self.bn1(x))  # (N, C_in, H, W)
        shortcut = x if self.shortcut is None else self.shortcut(o)
        out = self.conv1(o)  # (N, C_out, H/s, W/s)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return self.attn(out) + shortcut  # no activation after the addition (pre-activation unit)


class WideBottleneck(nn.Module):
    """ImageNet bottleneck with a k-times wider interior (Sec. 4, WRN-50-2-bottleneck), torchvision layout.

    1x1 (in -> 64 k s) -> 3x3 (stride) -> 1x1 (-> 256 s), each followed by BN; ReLU after the addition.

    Args:
        in_channels: input channels.
        planes: stage base width (64, 128, 256, 512); the output has 4 * planes channels.
        width: interior width, ``planes * widen_factor``.
        stride: stride of the 3x3 convolution.
        downsample: projection shortcut (1x1 conv + BN) or None.
        attn_layer: factory ``channels -> module`` applied to the residual branch before the addition.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, 4 * planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, width: int, stride: int = 1,
                 downsample: nn.Module | None = None, attn_layer: AttnFactory | None = None):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        # Deviation (torchvision, "v1.5"): stride on the 3x3 convolution.
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.attn = _attention(attn_layer, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H/s, W/s)
        out = self.attn(self.bn3(self.conv3(out)))  # (N, 4 planes, H/s, W/s)
        return self.relu(out + shortcut)


class WideResNet(nn.Module):
    """Wide residual network: WRN-d-k for CIFAR (Table 1) or WRN-50-2-bottleneck for ImageNet (Sec. 4).

    Args:
        num_classes: number of output classes.
        in_chans: number of input channels.
        style: ``"imagenet"`` (bottleneck, torchvision layout) or ``"cifar"`` (WRN-d-k, pre-activation basic
            blocks, Table 1).
        depth: ImageNet: 50, 101 or 152 (ResNet depths). CIFAR: d with (d - 4) divisible by 6 (28 for WRN-28-10).
        widen_factor: k. ImageNet: the interior bottleneck width is 64 k per stage base (2 in WRN-50-2).
            CIFAR: the group widths are 16 k, 32 k, 64 k.
        dropout: CIFAR only: dropout between the two convolutions of each block (Sec. 2.4; 0.3 in the
            paper's dropout experiments); 0 disables it.
        attn_layer: optional factory ``channels -> nn.Module`` applied to each block's residual branch before
            the addition; None adds nothing.

    Shape:
        - Input: (N, in_chans, H, W); CIFAR style expects 32 x 32 (any size works: it pools globally),
          ImageNet style any size >= 32.
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = WideResNet(num_classes=10, style="cifar", depth=10, widen_factor=2)
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, style: str = "imagenet", depth: int = 50,
                 widen_factor: int = 2, dropout: float = 0.0, attn_layer: AttnFactory | None = None):
        super().__init__()
        if style not in ("imagenet", "cifar"):
            raise ValueError(f"style must be 'imagenet' or 'cifar', got {style!r}")
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f"widen_factor must be a positive integer, got {widen_factor!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if attn_layer is not None and not callable(attn_layer):
            raise ValueError(f"attn_layer must be a callable channels -> nn.Module, got {type(attn_layer).__name__}")
        self.num_classes, self.in_chans, self.style = num_classes, in_chans, style
        self.depth, self.widen_factor = depth, widen_factor
        if style == "imagenet":
            if depth not in _IMAGENET_LAYERS:
                raise ValueError(f"imagenet depth must be one of {sorted(_IMAGENET_LAYERS)}, got {depth}")
            if dropout:
                raise ValueError("dropout applies to the cifar style only")
            self._build_imagenet(_IMAGENET_LAYERS[depth], attn_layer)
        else:
            if depth < 10 or (depth - 4) % 6:
                raise ValueError(f"cifar depth must be 6N + 4 with N >= 1 (Table 1), got {depth}")
            self._build_cifar((depth - 4) // 6, dropout, attn_layer)
        self._init_weights()

    def _build_imagenet(self, layers: tuple[int, ...], attn_layer: AttnFactory | None) -> None:
        self.conv1 = nn.Conv2d(self.in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # torchvision padding
        in_channels, stages = 64, []
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stride, out_channels = (1 if i == 0 else 2), planes * 4
            width = planes * self.widen_factor  # Sec. 4: the bottleneck interior k times wider
            downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(out_channels))
            stage = [WideBottleneck(in_channels, planes, width, stride, downsample, attn_layer)]
            stage += [WideBottleneck(out_channels, planes, width, 1, None, attn_layer) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            in_channels = out_channels
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.num_features = in_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, self.num_classes)

    def _build_cifar(self, n: int, dropout: float, attn_layer: AttnFactory | None) -> None:
        k = self.widen_factor
        widths = (16 * k, 32 * k, 64 * k)  # Table 1: conv2, conv3, conv4 groups
        self.conv1 = nn.Conv2d(self.in_chans, 16, 3, padding=1, bias=False)  # Table 1: conv1 [3x3, 16]
        in_channels, groups = 16, []
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2  # Table 1: 32x32, 16x16, 8x8
            blocks = [WideBasicBlock(in_channels, width, stride, dropout, attn_layer)]
            blocks += [WideBasicBlock(width, width, 1, dropout, attn_layer) for _ in range(n - 1)]
            groups.append(nn.Sequential(*blocks))
            in_channels = width
        self.block1, self.block2, self.block3 = groups
        self.bn = nn.BatchNorm2d(in_channels)  # final BN-ReLU of the pre-activation network
        self.relu = nn.ReLU(inplace=True)
        self.num_features = in_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1: avg-pool [8 x 8] at 32 x 32 input
        self.fc = nn.Linear(in_channels, self.num_classes)

    def _init_weights(self) -> None:
        # Kaiming-normal (fan_out) convolutions, BN 1/0, as in torchvision and the authors' code (MSRinit).
        attention = {id(m) for blk in self.modules() if isinstance(blk, (WideBasicBlock, WideBottleneck))
                     for m in blk.attn.modules()}
        for m in self.modules():
            if id(m) in attention:
                continue
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map before pooling (ImageNet: (N, 2048, H/32, W/32); CIFAR: (N, 64k, H/4, W/4))."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if self.style == "imagenet":
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
            return self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.conv1(x)  # (N, 16, H, W)
        x = self.block3(self.block2(self.block1(x)))  # (N, 64k, H/4, W/4)
        return self.relu(self.bn(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, num_features)
        return self.fc(x)  # (N, num_classes) logits
