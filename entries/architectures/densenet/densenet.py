"""DenseNet (Huang, Liu, van der Maaten, Weinberger: "Densely Connected Convolutional Networks", CVPR 2017,
arXiv:1608.06993).

DenseNet-BC: dense blocks of bottleneck layers (BN-ReLU-1x1 conv to 4k channels, BN-ReLU-3x3 conv to k
channels) whose outputs are concatenated onto everything before them, and transition layers that halve the
channels (compression 0.5) and the resolution between blocks. State-dict compatible with torchvision's
``torchvision.models.densenet`` (same module names, shapes and buffers) for the ImageNet variants.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn


class DenseLayer(nn.Module):
    """One composite function H_l of a dense block, bottleneck version (Sec. 3, "Bottleneck layers").

    ``H_l([x_0, ..., x_{l-1}]) = conv3x3(relu(BN(conv1x1(relu(BN(concat))))))``: the 1x1 convolution makes
    ``bn_size * growth_rate`` (4k) maps, the 3x3 convolution the k new maps (Eq. 2).

    Args:
        in_channels: channels of the concatenation this layer reads (k_0 + k (l - 1), Sec. 3 "Growth rate").
        growth_rate: k, the number of maps the layer adds.
        bn_size: width of the bottleneck in multiples of k (4 in the paper).
        drop_rate: dropout after the 3x3 convolution (the paper uses 0.2 on CIFAR without augmentation, Sec. 4.2).
        memory_efficient: recompute the concatenation, BN, ReLU and 1x1 convolution in the backward pass
            (``torch.utils.checkpoint``) instead of storing them: quadratic to linear memory in the depth
            (Pleiss et al., arXiv:1707.06990). The output is the same.

    Shape:
        - Input: a list of tensors (N, C_i, H, W) with sum C_i = in_channels
        - Output: (N, growth_rate, H, W)
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4, drop_rate: float = 0.0,
                 memory_efficient: bool = False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)  # Sec. 3 "Composite function": BN, ReLU, conv
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)  # 4k maps
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bottleneck(self, *features: torch.Tensor) -> torch.Tensor:
        # Eq. 2: [x_0, x_1, ..., x_{l-1}], the concatenation along channels. (N, in_channels, H, W)
        return self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))  # (N, 4k, H, W)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        if self.memory_efficient and self.training and any(f.requires_grad for f in features):
            out = cp.checkpoint(self.bottleneck, *features, use_reentrant=False)
        else:
            out = self.bottleneck(*features)
        out = self.conv2(self.relu2(self.norm2(out)))  # (N, k, H, W)
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """A dense block (Fig. 1): layer l reads the concatenation of the block input and all l - 1 earlier outputs.

    Args:
        num_layers: layers in the block (Table 1).
        in_channels: k_0, the channels entering the block.
        growth_rate, bn_size, drop_rate, memory_efficient: as in :class:`DenseLayer`.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, in_channels + num_layers * growth_rate, H, W)
    """

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4,
                 drop_rate: float = 0.0, memory_efficient: bool = False):
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size,
                                                    drop_rate, memory_efficient)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():  # a loop over layers (fixed at construction), not over data
            features.append(layer(features))
        return torch.cat(features, 1)  # (N, k_0 + L k, H, W)


class Transition(nn.Sequential):
    """Transition layer between dense blocks (Sec. 3 "Pooling layers"): BN, ReLU, 1x1 conv, 2x2 average pool.

    With compression theta (Sec. 3 "Compression", DenseNet-C), the 1x1 convolution outputs
    floor(theta * m) maps for m inputs.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, floor(H / 2), floor(W / 2))
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet-BC classifier (Sec. 3, Table 1), torchvision layout.

    ImageNet stem (Table 1): 7x7 convolution with 2k maps, stride 2, BN, ReLU, 3x3 max pool stride 2; then
    dense blocks separated by transition layers; a final BN (``norm5``), ReLU, global average pool and a
    linear classifier. The CIFAR stem (Sec. 3 "Implementation Details") is a single 3x3 convolution with 2k
    maps, and the network has three dense blocks.

    Args:
        num_classes: outputs of the classifier.
        in_chans: input image channels.
        growth_rate: k, maps added by each layer (32 for DenseNet-121/169/201, 48 for DenseNet-161).
        block_config: layers per dense block, e.g. (6, 12, 24, 16) for DenseNet-121 (Table 1).
        num_init_features: maps of the first convolution (2k in the paper: 64, or 96 for DenseNet-161).
        bn_size: bottleneck width in multiples of k (4: "each 1x1 convolution produce 4k feature-maps").
        compression: theta of the transition layers (0.5 in DenseNet-BC; 1.0 = no compression).
        drop_rate: dropout after each dense layer's 3x3 convolution (0 on ImageNet).
        stem: ``"imagenet"`` (7x7/2 conv + BN + ReLU + 3x3/2 max pool) or ``"cifar"`` (one 3x3 conv).
        memory_efficient: checkpoint each layer's concatenation + bottleneck (see :class:`DenseLayer`).

    Shape:
        - Input: (N, in_chans, H, W); ImageNet stem: H, W >= 29 (five halvings; torchvision's min_size)
        - Output: (N, num_classes)

    Examples:
        >>> model = DenseNet(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 1000])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, growth_rate: int = 32,
                 block_config: Sequence[int] = (6, 12, 24, 16), num_init_features: int = 64, bn_size: int = 4,
                 compression: float = 0.5, drop_rate: float = 0.0, stem: str = "imagenet",
                 memory_efficient: bool = False):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("in_chans", in_chans), ("growth_rate", growth_rate),
                            ("num_init_features", num_init_features), ("bn_size", bn_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        block_config = tuple(block_config)
        if not block_config or not all(isinstance(n, int) and n >= 1 for n in block_config):
            raise ValueError(f"block_config must be a non-empty sequence of positive ints, got {block_config!r}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1] (theta, Sec. 3), got {compression!r}")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.num_classes, self.in_chans, self.stem = num_classes, in_chans, stem
        self.growth_rate, self.block_config = growth_rate, block_config

        if stem == "imagenet":
            # Table 1: 7x7 conv, stride 2 (112 x 112 at 224), then 3x3 max pool, stride 2 (56 x 56).
            layers = [("conv0", nn.Conv2d(in_chans, num_init_features, kernel_size=7, stride=2, padding=3,
                                          bias=False)),
                      ("norm0", nn.BatchNorm2d(num_init_features)),
                      ("relu0", nn.ReLU(inplace=True)),
                      ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]
        else:
            # Sec. 3 "Implementation Details" (CIFAR, DenseNet-BC): a 3x3 convolution with 2k output maps.
            layers = [("conv0", nn.Conv2d(in_chans, num_init_features, kernel_size=3, padding=1, bias=False))]
        self.features = nn.Sequential(OrderedDict(layers))

        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(num_layers, channels, growth_rate, bn_size,
                                                                      drop_rate, memory_efficient))
            channels += num_layers * growth_rate  # k_0 + L k (Sec. 3 "Growth rate")
            if i != len(block_config) - 1:
                out = int(math.floor(compression * channels))  # Sec. 3 "Compression": floor(theta m)
                self.features.add_module(f"transition{i + 1}", Transition(channels, out))
                channels = out
        # The last block ends with BN-ReLU before global average pooling (Table 1 "classification layer").
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.num_features = channels  # 1024 (121), 1664 (169), 1920 (201), 2208 (161)
        self.classifier = nn.Linear(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation: Kaiming-normal (fan_in) convolutions, BN scale 1 shift 0, zero fc bias.
        # Deviation: the authors' Torch code (models/densenet.lua) draws conv weights with std sqrt(2 / (k^2 C_out))
        # (fan_out); the paper itself only cites He et al. 2015.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of ``norm5`` (before the final ReLU): (N, num_features, ~H/32, ~W/32) for the ImageNet stem."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.forward_features(x))  # the ReLU after norm5 (BN-ReLU before pooling)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # global average pooling: (N, num_features)
        return self.classifier(x)  # (N, num_classes) logits; the softmax belongs to the loss
