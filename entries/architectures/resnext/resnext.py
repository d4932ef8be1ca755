"""ResNeXt (Xie, Girshick, Dollar, Tu, He: "Aggregated Residual Transformations for Deep Neural Networks",
CVPR 2017, arXiv:1611.05431).

A ResNet whose bottleneck 3x3 convolution is split into ``cardinality`` groups (form (c) of Fig. 3, grouped
convolutions). State-dict compatible with torchvision's ``resnext50_32x4d`` / ``resnext101_32x8d`` /
``resnext101_64x4d`` (same module names, shapes and buffers), so their checkpoints load with ``strict=True``.
An attention block can be put into every residual branch through ``attn_layer`` (SE-ResNeXt, ...); without
one no state-dict key is added.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

AttnFactory = Callable[[int], nn.Module]


def _attention(attn_layer: AttnFactory | None, channels: int) -> nn.Module:
    """The block's attention module; nn.Identity holds no parameters or buffers, so it adds no state-dict key."""
    if attn_layer is None:
        return nn.Identity()
    module = attn_layer(channels)
    if not isinstance(module, nn.Module):
        raise ValueError(f"attn_layer({channels}) must return an nn.Module, got {type(module).__name__}")
    return module


class ResNeXtBottleneck(nn.Module):
    """The aggregated residual transformation of Eq. 3 / Fig. 3(c): 1x1 reduce, grouped 3x3, 1x1 restore.

    ``y = relu(x + sum_{i=1}^{C} T_i(x))`` where every ``T_i`` is a 1x1 -> 3x3 -> 1x1 path of width ``d``.
    Fig. 3(c) implements the C paths as one block of width ``C * d`` whose 3x3 convolution has ``C`` groups
    (the three forms of Fig. 3 are equivalent, Sec. 3.3). BN follows every convolution, ReLU after each BN
    except the last, which comes after the addition (Sec. 4).

    Args:
        in_channels: input channels.
        planes: the stage's base width (64, 128, 256, 512); the output has ``4 * planes`` channels.
        stride: stride of the grouped 3x3 convolution (2 in the first block of conv3..conv5, Table 1).
        downsample: projection shortcut (1x1 conv + BN), or None for the identity.
        cardinality: number of groups C of the 3x3 convolution (Sec. 3.3).
        base_width: bottleneck width d per group at the first stage (the "4d" of 32x4d); it doubles with
            every stage, so the block width is ``C * d * planes / 64`` (Table 1: 128, 256, 512, 1024 for 32x4d).
        attn_layer: factory ``channels -> module`` applied to the residual branch before the addition.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, 4 * planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 cardinality: int = 32, base_width: int = 4, attn_layer: AttnFactory | None = None):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * cardinality  # Table 1: C x d, doubled each stage
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)  # Fig. 3(c): 1x1 reduce (all C paths)
        self.bn1 = nn.BatchNorm2d(width)
        # Fig. 3(c): the C 3x3 transformations as one grouped convolution. Deviation (torchvision, and the
        # authors' fb.resnet.torch code): the stride sits on this 3x3 convolution.
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)  # Eq. 3: aggregation by the 1x1 restore
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.attn = _attention(attn_layer, out_channels)  # SE paper Fig. 3: on the branch, before the sum
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)  # Eq. 3: y = x + sum T_i(x)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, C*d, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, C*d, H/s, W/s)
        out = self.attn(self.bn3(self.conv3(out)))  # (N, 4*planes, H/s, W/s)
        return self.relu(out + shortcut)


class ResNeXt(nn.Module):
    """ResNeXt for ImageNet classification (Table 1), torchvision layout.

    The ResNet-50/101 template (conv1 7x7/2 + 3x3/2 max pool, four stages of [3, 4, 6, 3] or [3, 4, 23, 3]
    blocks, global average pool, fc) with every bottleneck replaced by an aggregated transformation of
    cardinality C and width d ("C x d d", e.g. 32x4d). The rule of Sec. 3.1: the width of the blocks doubles
    when the spatial map is halved, so the FLOPs per stage stay constant.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        layers: number of blocks in each of the four stages (Table 1: [3, 4, 6, 3] for 50 layers).
        cardinality: C, the number of groups of every 3x3 convolution.
        base_width: d, the width of each group in the first stage (doubling per stage).
        attn_layer: optional factory ``channels -> nn.Module`` (SE, CBAM, ...): every block applies
            ``attn_layer(out_channels)`` to its residual branch after the last BN and before the addition.
        zero_init_residual: initialise each block's last BN scale to zero (Goyal et al., arXiv:1706.02677).

    Shape:
        - Input: (N, in_chans, H, W), any H, W (global average pool; the network downsamples by 32).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = ResNeXt(num_classes=10, layers=[1, 1, 1, 1], cardinality=8, base_width=4)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, layers: Sequence[int] = (3, 4, 6, 3),
                 cardinality: int = 32, base_width: int = 4, attn_layer: AttnFactory | None = None,
                 zero_init_residual: bool = False):
        super().__init__()
        layers = list(layers)
        if len(layers) != 4 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive integers (blocks per stage, Table 1), got {layers}")
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if cardinality < 1 or base_width < 1:
            raise ValueError(f"cardinality and base_width must be positive, got {cardinality} and {base_width}")
        if attn_layer is not None and not callable(attn_layer):
            raise ValueError(f"attn_layer must be a callable channels -> nn.Module, got {type(attn_layer).__name__}")
        self.num_classes, self.in_chans = num_classes, in_chans
        self.layers, self.cardinality, self.base_width = tuple(layers), cardinality, base_width

        # conv1 of Table 1: 7x7, 64, stride 2, then 3x3 max pool, stride 2 (the ResNet template).
        self.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # torchvision padding
        in_channels = 64
        stages = []
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2  # Table 1: conv3, 4, 5 downsample by stride 2 in their first block
            stages.append(self._make_stage(in_channels, planes, blocks, stride, attn_layer))
            in_channels = planes * ResNeXtBottleneck.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.num_features = in_channels  # 2048
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1: global average pool
        self.fc = nn.Linear(in_channels, num_classes)  # Table 1: 1000-d fc, softmax in the loss
        self._init_weights(zero_init_residual)

    def _make_stage(self, in_channels: int, planes: int, blocks: int, stride: int,
                    attn_layer: AttnFactory | None) -> nn.Sequential:
        out_channels = planes * ResNeXtBottleneck.expansion
        downsample = None
        if stride != 1 or in_channels != out_channels:
            # Sec. 4: projection shortcuts (type B of the ResNet paper) where the shape changes.
            downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(out_channels))
        kw = {"cardinality": self.cardinality, "base_width": self.base_width, "attn_layer": attn_layer}
        first = ResNeXtBottleneck(in_channels, planes, stride, downsample, **kw)
        rest = [ResNeXtBottleneck(out_channels, planes, 1, None, **kw) for _ in range(blocks - 1)]
        return nn.Sequential(first, *rest)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # Sec. 4 initialises as in He et al. 2015 ([13]); here torchvision's variant (Kaiming normal, fan_out).
        # Attention blocks keep their own initialisation.
        attention = {id(m) for blk in self.modules() if isinstance(blk, ResNeXtBottleneck)
                     for m in blk.attn.modules()}
        for m in self.modules():
            if id(m) in attention:
                continue
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResNeXtBottleneck):
                    nn.init.zeros_(m.bn3.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv5 feature map before pooling: (N, 2048, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer1(x)  # conv2: (N, 256, H/4, W/4)
        x = self.layer2(x)  # conv3: (N, 512, H/8, W/8)
        x = self.layer3(x)  # conv4: (N, 1024, H/16, W/16)
        return self.layer4(x)  # conv5: (N, 2048, H/32, W/32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, 2048)
        return self.fc(x)  # (N, num_classes) logits
