"""Pre-activation ResNet (He, Zhang, Ren, Sun: "Identity Mappings in Deep Residual Networks", ECCV 2016,
arXiv:1603.05027).

Full pre-activation Residual Units (Fig. 4(e)): ``x_{l+1} = x_l + F(x_l)`` where F is BN-ReLU-conv repeated,
and nothing follows the addition, so the shortcut path from any unit to any later one is a pure identity
(Eq. 4). ImageNet-style variants with ResNet's widths and the paper's CIFAR ResNet-164 / ResNet-1001. An
attention block can be put on every residual branch through ``attn_layer``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

AttnFactory = Callable[[int], nn.Module]


def _attention(attn_layer: AttnFactory | None, channels: int) -> nn.Module:
    """The unit's attention module; nn.Identity holds no parameters, so an empty slot adds no state-dict key."""
    if attn_layer is None:
        return nn.Identity()
    module = attn_layer(channels)
    if not isinstance(module, nn.Module):
        raise ValueError(f"attn_layer({channels}) must return an nn.Module, got {type(module).__name__}")
    return module


class _PreActUnit(nn.Module):
    """Shared logic of the two unit types: pre-activation, projection shortcut, attention and the addition.

    Three cases (the authors' code, resnet-pre-act.lua):
      * identity unit: ``y = x + F(x)``, with BN-ReLU as the first layers of F only;
      * unit that changes the shape: BN-ReLU is applied once to x and feeds both F and the 1x1 projection
        shortcut (no BN on the projection);
      * the network's first unit (``preact=False``): its input is already BN-ReLU'd by the stem, so it has
        no BN-ReLU of its own.
    """

    def _pre(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(input of F, shortcut) for the three cases above."""
        act = self.relu(self.bn1(x))  # nn.Identity bn1 for the first unit (already activated by the stem)
        if self.shortcut is None:
            return act, x  # Eq. 3: identity h(x_l) = x_l, taken before the pre-activation
        return act, self.shortcut(act)  # projection on the pre-activated input (authors' code)


class PreActBasicBlock(_PreActUnit):
    """Two 3x3 convolutions, each preceded by BN and ReLU (Fig. 4(e); ResNet-18/34 layout).

    Args:
        in_channels: input channels.
        planes: channels of both convolutions (= output channels).
        stride: stride of the first convolution (2 in the first unit of stages 2-4).
        attn_layer: factory ``channels -> module`` applied to F(x) before the addition.
        preact: False for the first unit of the network, whose input the stem has already activated.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, attn_layer: AttnFactory | None = None,
                 preact: bool = True, stride_in_1x1: bool = False):
        super().__init__()
        del stride_in_1x1  # only meaningful for bottlenecks
        self.bn1 = nn.BatchNorm2d(in_channels) if preact else nn.Identity()
        self.relu = nn.ReLU() if preact else nn.Identity()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.attn = _attention(attn_layer, planes)
        self.shortcut = (nn.Conv2d(in_channels, planes, 1, stride=stride, bias=False)
                         if stride != 1 or in_channels != planes else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, shortcut = self._pre(x)
        out = self.conv1(out)  # (N, planes, H / s, W / s)
        out = self.conv2(torch.relu(self.bn2(out)))  # Fig. 4(e): BN, ReLU, weight
        return shortcut + self.attn(out)  # Eq. 3 with f = identity: nothing after the addition


class PreActBottleneck(_PreActUnit):
    """Bottleneck unit 1x1-3x3-1x1, each convolution preceded by BN and ReLU (Fig. 4(e); ResNet-164/1001).

    Args:
        in_channels: input channels.
        planes: bottleneck width; the output has 4 * planes channels.
        stride: 2 in the first unit of every stage but the first.
        attn_layer: factory ``channels -> module`` applied to F(x) before the addition.
        preact: False for the first unit of the network (see :class:`PreActBasicBlock`).
        stride_in_1x1: put the stride on the first 1x1 convolution, as the authors' CIFAR code does
            (resnet-pre-act.lua); False puts it on the 3x3 convolution (fb.resnet.torch's preresnet.lua).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, 4 * planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, attn_layer: AttnFactory | None = None,
                 preact: bool = True, stride_in_1x1: bool = False):
        super().__init__()
        out_channels = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.bn1 = nn.BatchNorm2d(in_channels) if preact else nn.Identity()
        self.relu = nn.ReLU() if preact else nn.Identity()
        self.conv1 = nn.Conv2d(in_channels, planes, 1, stride=s1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=s3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.attn = _attention(attn_layer, out_channels)
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
                         if stride != 1 or in_channels != out_channels else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, shortcut = self._pre(x)
        out = self.conv1(out)  # (N, planes, ., .)
        out = self.conv2(torch.relu(self.bn2(out)))  # (N, planes, H / s, W / s)
        out = self.conv3(torch.relu(self.bn3(out)))  # (N, 4 planes, H / s, W / s)
        return shortcut + self.attn(out)  # Eq. 3 with f = identity


_BLOCKS = {"basic": PreActBasicBlock, "bottleneck": PreActBottleneck}


class PreActResNet(nn.Module):
    """Residual network of full pre-activation units (Fig. 4(e)), ImageNet or CIFAR layout.

    ImageNet (``stem="imagenet"``): 7x7/2 conv (64) -> BN -> ReLU -> 3x3/2 max pool -> four stages with
    ResNet's base widths 64, 128, 256, 512 (Table 1 of He et al. 2016a) -> BN -> ReLU -> global average pool ->
    fc. CIFAR (``stem="cifar"``, the authors' resnet-pre-act.lua): 3x3 conv (16) -> BN -> ReLU -> three stages
    of bottleneck units with outputs 64, 128, 256 (widths 16, 32, 64) -> BN -> ReLU -> pool -> fc.
    The final BN-ReLU is the activation after the last addition that pre-activation needs, because no unit
    ends with one (authors' code).

    Args:
        num_classes: outputs of the classifier.
        in_chans: input image channels.
        block: ``"basic"`` or ``"bottleneck"``.
        layers: units per stage (4 stages for ImageNet, 3 for CIFAR; ResNet-164 is [18, 18, 18]).
        stem: ``"imagenet"`` or ``"cifar"``.
        attn_layer: factory ``channels -> nn.Module`` applied to every residual branch before the addition.
        stride_in_1x1: bottlenecks only; stride on the first 1x1 convolution (authors' CIFAR code).
        zero_init_residual: zero the last convolution of every residual branch, so each unit starts as the
            identity (not from the paper; Goyal et al., arXiv:1706.02677, zero BN scales instead).

    Shape:
        - Input: (N, in_chans, H, W)
        - Output: (N, num_classes)

    Examples:
        >>> model = PreActResNet(num_classes=10, block="bottleneck", layers=[18, 18, 18], stem="cifar")
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, block: str = "bottleneck",
                 layers: Sequence[int] = (3, 4, 6, 3), stem: str = "imagenet",
                 attn_layer: AttnFactory | None = None, stride_in_1x1: bool = False,
                 zero_init_residual: bool = False):
        super().__init__()
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {sorted(_BLOCKS)}, got {block!r}")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        layers = tuple(layers)
        n_stages = 4 if stem == "imagenet" else 3
        if len(layers) != n_stages or not all(isinstance(n, int) and n >= 1 for n in layers):
            raise ValueError(f"layers must be {n_stages} positive ints for stem={stem!r}, got {layers!r}")
        if stride_in_1x1 and block != "bottleneck":
            raise ValueError("stride_in_1x1 only applies to bottleneck units")
        if not isinstance(num_classes, int) or num_classes < 1 or not isinstance(in_chans, int) or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive ints, got {num_classes!r}, {in_chans!r}")
        if attn_layer is not None and not callable(attn_layer):
            raise ValueError(f"attn_layer must be a callable channels -> nn.Module, got {type(attn_layer).__name__}")
        block_cls = _BLOCKS[block]
        self.num_classes, self.in_chans, self.block, self.layers, self.stem = num_classes, in_chans, block, layers, stem

        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            in_channels, widths = 64, (64, 128, 256, 512)
        else:
            # Authors' resnet-pre-act.lua: one 3x3 conv with 16 maps at 32 x 32; bottleneck widths 16, 32, 64.
            self.conv1 = nn.Conv2d(in_chans, 16, kernel_size=3, padding=1, bias=False)
            # The first unit's pre-activation (shared by its two paths in the authors' code) lives here, so
            # that stems and first units look the same in both layouts; the computation is identical.
            self.bn1 = nn.BatchNorm2d(16)
            self.maxpool = nn.Identity()
            in_channels, widths = 16, (16, 32, 64)
        self.relu = nn.ReLU()
        stages = []
        for i, (planes, n) in enumerate(zip(widths, layers)):
            units = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                units.append(block_cls(in_channels, planes, stride, attn_layer, preact=(i, j) != (0, 0),
                                       stride_in_1x1=stride_in_1x1))
                in_channels = planes * block_cls.expansion
            stages.append(nn.Sequential(*units))
        self.layer1, self.layer2, self.layer3 = stages[:3]
        self.layer4 = stages[3] if n_stages == 4 else None
        # The activation after the last addition (authors' code: BN, ReLU before the average pool).
        self.bn_final = nn.BatchNorm2d(in_channels)
        self.num_features = in_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # Authors' code (resnet-pre-act.lua, "as in [He et al. 2015]"): conv weights N(0, 2 / (k^2 C_out)),
        # i.e. Kaiming-normal with fan_out; BN scale 1, shift 0; fc bias 0. Attention blocks keep their own init.
        attention = {id(m) for unit in self.modules() if isinstance(unit, _PreActUnit) for m in unit.attn.modules()}
        for m in self.modules():
            if id(m) in attention:
                continue
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, PreActBottleneck):
                    nn.init.zeros_(m.conv3.weight)
                elif isinstance(m, PreActBasicBlock):
                    nn.init.zeros_(m.conv2.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output after the final BN-ReLU: (N, num_features, H / 32, W / 32) (ImageNet) or /4 (CIFAR)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # the first activation, right after conv1
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.layer4 is not None:
            x = self.layer4(x)
        return self.relu(self.bn_final(x))  # the extra activation after the last addition

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, num_features)
        return self.fc(x)  # (N, num_classes) logits
