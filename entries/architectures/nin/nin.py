"""Network In Network (Lin, Chen, Yan: "Network In Network", ICLR 2014, arXiv:1312.4400).

mlpconv layers (a convolution followed by a two-layer perceptron shared over positions, i.e. two 1x1
convolutions, Sec. 3.1, Eq. 2) and a global-average-pooling classifier with no fully connected layer
(Sec. 3.2). The default configuration is the authors' CIFAR-10 network (github.com/mavenlin/cuda-convnet,
``NIN/cifar-10_def``): three mlpconv layers of 192-160-96, 192-192-192 and 192-192-10 units.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# Authors' cifar-10_def: per mlpconv layer (kernel size, padding, (conv, cccp, cccp) widths); the last width
# of the last layer is replaced by num_classes.
CIFAR10: tuple[tuple[int, int, tuple[int, int, int]], ...] = (
    (5, 2, (192, 160, 96)),   # conv1 5x5/192, cccp1 160, cccp2 96, then 3x3/2 max pool, dropout 0.5
    (5, 2, (192, 192, 192)),  # conv2 5x5/192, cccp3 192, cccp4 192, then 3x3/2 max pool, dropout 0.5
    (3, 1, (192, 192, 10)),   # conv3 3x3/192, cccp5 192, cccp6 num_classes, then global average pool
)


class MLPConv(nn.Sequential):
    """One mlpconv layer (Sec. 3.1, Fig. 1b, Eq. 2).

    A k x k convolution followed by n - 1 fully connected layers applied at every position (1x1
    convolutions, "cascaded cross channel parametric pooling"), each with a ReLU:
    f^1 = max(W^1 x + b^1, 0), ..., f^n = max(W^n f^{n-1} + b^n, 0).

    Args:
        in_channels: input channels.
        widths: output units of the convolution and of each 1x1 layer, e.g. (192, 160, 96).
        kernel_size: spatial size of the first convolution.
        padding: zero padding of the first convolution.
        final_relu: ReLU after the last 1x1 layer (the authors' configs have one everywhere, also before
            the global average pool).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, widths[-1], H + 2 * padding - kernel_size + 1, ...)

    Examples:
        >>> MLPConv(3, (192, 160, 96), 5, 2)(torch.randn(1, 3, 32, 32)).shape
        torch.Size([1, 96, 32, 32])
    """

    def __init__(self, in_channels: int, widths: Sequence[int], kernel_size: int, padding: int,
                 final_relu: bool = True):
        if len(widths) < 1 or any(w < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty sequence of positive ints, got {widths}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], kernel_size, padding=padding), nn.ReLU(inplace=True)]
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Conv2d(a, b, 1))  # Eq. 2: a perceptron layer shared over positions (cccp)
            if final_relu or i < len(widths) - 2:
                layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class NIN(nn.Module):
    """Network In Network classifier (Sec. 3, Fig. 2).

    Stacked mlpconv layers separated by 3x3 / stride-2 max pooling and dropout 0.5; the last mlpconv layer
    has one feature map per class, and global average pooling turns each map into that class's score
    (Sec. 3.2). There is no fully connected layer.

    Args:
        num_classes: number of classes (10 for CIFAR-10); the width of the last 1x1 layer.
        in_chans: input channels.
        config: per mlpconv layer (kernel size, padding, widths); default the authors' CIFAR-10 network.
        dropout: dropout probability after every mlpconv layer but the last (0.5 in the authors' config).
        final_relu: ReLU on the class maps before the average pool (as in the authors' configs).

    Shape:
        - Input: (N, in_chans, H, W), 32 x 32 natively (any H, W >= 8 runs: the pool is global)
        - Output: (N, num_classes)

    Examples:
        >>> model = NIN(num_classes=10)
        >>> sum(p.numel() for p in model.parameters())
        966986
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, in_chans: int = 3, *,
                 config: Sequence[tuple[int, int, Sequence[int]]] = CIFAR10, dropout: float = 0.5,
                 final_relu: bool = True):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        if len(config) < 1:
            raise ValueError("config must hold at least one mlpconv layer")
        self.num_classes, self.in_chans = num_classes, in_chans
        layers: list[nn.Module] = []
        channels = in_chans
        for i, (kernel, pad, widths) in enumerate(config):
            widths = tuple(widths)
            last = i == len(config) - 1
            if last:
                widths = widths[:-1] + (num_classes,)  # Sec. 3.2: one feature map per category
            layers.append(MLPConv(channels, widths, kernel, pad, final_relu=final_relu or not last))
            if not last:
                # cifar-10_def: 3x3 max pool, stride 2, cuda-convnet output size ceil((H - 3) / 2) + 1
                layers.append(nn.MaxPool2d(3, stride=2, ceil_mode=True))
                layers.append(nn.Dropout(dropout))  # cifar-10_def: dropout 0.5 after every mlpconv layer but the last
            channels = widths[-1]
        self.features = nn.Sequential(*layers)  # (N, num_classes, H/4, W/4) for the CIFAR config
        # Sec. 3.2: global average pooling, a parameter-free classifier (cifar-10_def: 8x8 average pool)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The class confidence maps (N, num_classes, h, w) before global average pooling (Sec. 3.2)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.forward_features(x)).flatten(1)  # (N, num_classes); the softmax is in the loss
