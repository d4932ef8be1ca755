"""ResNet (He, Zhang, Ren, Sun: "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385).

State-dict compatible with torchvision's ``torchvision.models.resnet`` (same module names, shapes and
buffers), so its checkpoints load with ``strict=True``. An attention block can be put into every
residual branch through ``attn_layer`` (SE, CBAM, ECA, ...); without one no state-dict key is added.
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


class BasicBlock(nn.Module):
    """The two-layer building block of ResNet-18/34 (Fig. 2; Fig. 5 left): two 3x3 convolutions.

    ``y = relu(F(x) + shortcut(x))`` with ``F = BN(conv3x3(relu(BN(conv3x3(x)))))`` (Eq. 1; Eq. 2 when the
    shortcut is a projection). BN follows every convolution, before the activation (Sec. 3.4).

    Args:
        in_channels: input channels.
        planes: channels of both 3x3 convolutions (= output channels, expansion 1).
        stride: stride of the first 3x3 convolution (2 in the first block of conv3_x..conv5_x, Table 1).
        downsample: the projection shortcut W_s of Eq. 2 (1x1 conv + BN), or None for the identity of Eq. 1.
        attn_layer: factory ``channels -> module`` applied to the residual branch before the addition.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 attn_layer: AttnFactory | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)  # Sec. 3.4: BN right after each convolution, before activation
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attn = _attention(attn_layer, planes)  # SE paper Fig. 3 / CBAM Fig. 3: on F(x), before the sum
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)  # Eq. 1 (identity) / Eq. 2 (W_s x)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, planes, H / s, W / s)
        out = self.attn(self.bn2(self.conv2(out)))  # F(x, {W_i})
        return self.relu(out + shortcut)  # Fig. 2: the second nonlinearity comes after the addition


class Bottleneck(nn.Module):
    """The three-layer bottleneck block of ResNet-50/101/152 (Fig. 5 right): 1x1 reduce, 3x3, 1x1 restore.

    Args:
        in_channels: input channels.
        planes: bottleneck width (channels of the 1x1-reduce and 3x3 layers); the output has 4 * planes.
        stride: 2 in the first block of conv3_x..conv5_x (Table 1).
        downsample: the projection shortcut W_s of Eq. 2 (1x1 conv + BN), or None for the identity of Eq. 1.
        attn_layer: factory ``channels -> module`` applied to the residual branch before the addition.
        stride_in_1x1: put the stride on the first 1x1 convolution as in the authors' released Caffe models
            ("v1"); False (default) puts it on the 3x3 convolution as torchvision does ("v1.5").

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, 4 * planes, ceil(H / stride), ceil(W / stride))
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 attn_layer: AttnFactory | None = None, stride_in_1x1: bool = False):
        super().__init__()
        out_channels = planes * self.expansion  # Table 1: [1x1, 64; 3x3, 64; 1x1, 256] etc.
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, planes, 1, stride=stride_1x1, bias=False)  # reduce
        self.bn1 = nn.BatchNorm2d(planes)
        # Deviation (default, stride_in_1x1=False): the stride sits on the 3x3 convolution ("ResNet v1.5",
        # torchvision); the authors' released models (prototxt res3a_branch2a) stride the first 1x1.
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride_3x3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)  # restore
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.attn = _attention(attn_layer, out_channels)  # SE paper Fig. 3 / CBAM Fig. 3: before the sum
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)  # Eq. 1 / Eq. 2
        out = self.relu(self.bn1(self.conv1(x)))  # (N, planes, ., .)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, planes, H / s, W / s)
        out = self.attn(self.bn3(self.conv3(out)))  # F(x, {W_i}): (N, 4 * planes, H / s, W / s)
        return self.relu(out + shortcut)


_BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """Deep residual network for ImageNet classification (Sec. 3.3, Table 1), torchvision layout.

    conv1 (7x7/2, 64) -> BN -> ReLU -> 3x3/2 max-pool -> four stages of residual blocks (conv2_x..conv5_x
    with 64, 128, 256, 512 base channels; the first block of stages 2-4 downsamples with stride 2) ->
    global average pool -> fully connected layer. Shortcuts are identities (Eq. 1) except where the shape
    changes, where a 1x1 convolution + BN projects (Eq. 2; option B of Sec. 3.3 / Table 3).

    Table 1 configurations: ResNet-18 ``block="basic", layers=[2, 2, 2, 2]``; ResNet-34 ``basic, [3, 4, 6, 3]``;
    ResNet-50 ``bottleneck, [3, 4, 6, 3]``; ResNet-101 ``bottleneck, [3, 4, 23, 3]``; ResNet-152
    ``bottleneck, [3, 8, 36, 3]``.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        block: ``"basic"`` (two 3x3 convolutions, Fig. 5 left) or ``"bottleneck"`` (1x1-3x3-1x1, Fig. 5 right).
        layers: number of blocks in each of the four stages (Table 1).
        attn_layer: optional factory ``channels -> nn.Module`` (e.g. an SE or CBAM block): every residual
            block applies ``attn_layer(out_channels)`` to its residual branch after the last BN and before
            the addition. None puts an ``nn.Identity`` there, which adds no parameters or state-dict keys.
        stride_in_1x1: bottleneck blocks only: stride the first 1x1 convolution as the authors' released
            models do (v1, the MACs of Table 1) instead of the 3x3 convolution (v1.5, torchvision, default).
        zero_init_residual: initialise the last BN's scale of each residual branch to zero, so that every
            block starts as the identity (Goyal et al., arXiv:1706.02677); off by default, as in torchvision.

    Shape:
        - Input: (N, in_chans, H, W), any H, W (a global average pool precedes the classifier; the
          network downsamples by 32, so H, W >= 32 keep a spatial map in conv5_x).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = ResNet(num_classes=10, block="basic", layers=[2, 2, 2, 2])
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, block: str = "bottleneck",
                 layers: Sequence[int] = (3, 4, 6, 3), attn_layer: AttnFactory | None = None,
                 stride_in_1x1: bool = False, zero_init_residual: bool = False):
        super().__init__()
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {', '.join(map(repr, _BLOCKS))}, got {block!r}")
        layers = list(layers)
        if len(layers) != 4 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive integers (blocks per stage, Table 1), got {layers}")
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if stride_in_1x1 and block != "bottleneck":
            raise ValueError("stride_in_1x1 applies to bottleneck blocks only (a basic block has no 1x1 conv)")
        if attn_layer is not None and not callable(attn_layer):
            raise ValueError(f"attn_layer must be a callable channels -> nn.Module, got {type(attn_layer).__name__}")
        block_cls = _BLOCKS[block]
        self.num_classes, self.in_chans, self.block = num_classes, in_chans, block
        self.layers, self.stride_in_1x1 = tuple(layers), stride_in_1x1

        # conv1 of Table 1: 7x7, 64, stride 2 (112 x 112 at 224), then 3x3 max pool, stride 2.
        self.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        # Deviation: padding 1 (torchvision); the released Caffe models pool without padding, in ceil mode,
        # which gives the same 56 x 56 at 224 but different sizes at some other inputs.
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels = 64
        stages = []
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            # Table 1 caption: downsampling by conv3_1, conv4_1 and conv5_1 with a stride of 2.
            stride = 1 if i == 0 else 2
            stages.append(self._make_stage(block_cls, in_channels, planes, blocks, stride, attn_layer,
                                           stride_in_1x1))
            in_channels = planes * block_cls.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.num_features = in_channels  # 512 (basic) or 2048 (bottleneck)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Sec. 3.3: global average pooling
        self.fc = nn.Linear(in_channels, num_classes)  # Sec. 3.3: 1000-way fully-connected layer (softmax in the loss)
        self._init_weights(zero_init_residual)

    @staticmethod
    def _make_stage(block_cls: type[BasicBlock] | type[Bottleneck], in_channels: int, planes: int, blocks: int,
                    stride: int, attn_layer: AttnFactory | None, stride_in_1x1: bool) -> nn.Sequential:
        out_channels = planes * block_cls.expansion
        downsample = None
        if stride != 1 or in_channels != out_channels:
            # Option B (Sec. 3.3, Table 3): projection shortcut W_s (Eq. 2) by a strided 1x1 convolution, + BN.
            downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(out_channels))
        extra = {"stride_in_1x1": stride_in_1x1} if block_cls is Bottleneck else {}
        first = block_cls(in_channels, planes, stride, downsample, attn_layer, **extra)
        rest = [block_cls(out_channels, planes, 1, None, attn_layer, **extra) for _ in range(blocks - 1)]
        return nn.Sequential(first, *rest)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # Sec. 3.4: "We initialize the weights as in [12]" (He et al. 2015), here torchvision's variant:
        # kaiming normal with fan_out for convolutions, BN scale 1 and shift 0; fc keeps PyTorch's default.
        # Attention blocks keep their own initialisation.
        attention = {id(m) for blk in self.modules() if isinstance(blk, (BasicBlock, Bottleneck))
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
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv5_x feature map before pooling: (N, num_features, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer1(x)  # conv2_x: (N, 64 or 256, H/4, W/4)
        x = self.layer2(x)  # conv3_x: (N, 128 or 512, H/8, W/8)
        x = self.layer3(x)  # conv4_x: (N, 256 or 1024, H/16, W/16)
        return self.layer4(x)  # conv5_x: (N, 512 or 2048, H/32, W/32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, num_features)
        return self.fc(x)  # (N, num_classes) logits
