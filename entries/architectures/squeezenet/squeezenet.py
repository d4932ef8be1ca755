"""SqueezeNet (Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer: "SqueezeNet: AlexNet-level accuracy with 50x
fewer parameters and <0.5MB model size", arXiv:1602.07360, 2016).

Versions 1.0 (the paper's network, Sec. 3.3 / Table 1) and 1.1 (the authors' repository, SqueezeNet_v1.1:
conv1 with 64 3x3 filters, pools moved earlier, 2.4x less computation). State-dict compatible with
``torchvision.models.squeezenet1_0`` / ``squeezenet1_1`` (``features.N.squeeze``, ``classifier.1``).
"""

from __future__ import annotations

import torch
from torch import nn

VERSIONS = ("1_0", "1_1")


class Fire(nn.Module):
    """Fire module (Sec. 3.2, Figure 1): a 1x1 squeeze layer feeding an expand layer of 1x1 and 3x3 filters.

    Args:
        in_channels: input channels.
        squeeze: s_1x1, filters of the squeeze layer (all 1x1; Strategy 1).
        expand1x1: e_1x1, 1x1 filters of the expand layer.
        expand3x3: e_3x3, 3x3 filters of the expand layer (padding 1, so both expand outputs have the same size).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, expand1x1 + expand3x3, H, W)

    Examples:
        >>> import torch
        >>> Fire(96, 16, 64, 64)(torch.randn(1, 96, 8, 8)).shape
        torch.Size([1, 128, 8, 8])
    """

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        if min(in_channels, squeeze, expand1x1, expand3x3) < 1:
            raise ValueError("Fire channel counts must be positive")
        if squeeze >= expand1x1 + expand3x3:
            # Sec. 3.2: "we set s_1x1 to be less than (e_1x1 + e_3x3)" (Strategy 2)
            raise ValueError(f"squeeze ({squeeze}) must be smaller than expand1x1 + expand3x3")
        self.inplanes = in_channels
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)  # Sec. 3.3.1: 1-pixel zero padding
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))  # (N, s_1x1, H, W)
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),  # Sec. 3.3.1: ReLU on squeeze and expand
                          self.expand3x3_activation(self.expand3x3(x))], 1)  # (N, e_1x1 + e_3x3, H, W)


def make_features(version: str = "1_0", in_chans: int = 3) -> nn.Sequential:
    """conv1, the eight Fire modules and the max pools, in torchvision's ``features.N`` numbering.

    Args:
        version: ``"1_0"`` (Table 1: pools after conv1, fire4, fire8) or ``"1_1"`` (pools after conv1, fire3, fire5).
        in_chans: input channels.

    Returns:
        ``nn.Sequential`` mapping (N, in_chans, H, W) to (N, 512, H', W') (13x13 at 224 for both versions).
    """
    # ceil_mode=True follows Caffe's pooling arithmetic (the authors' framework), as torchvision does.
    pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
    if version == "1_0":
        return nn.Sequential(  # Table 1 / Sec. 3.3: conv1, fire2-9, max pools after conv1, fire4, fire8
            nn.Conv2d(in_chans, 96, kernel_size=7, stride=2),  # conv1: 96 filters of 7x7/2
            nn.ReLU(inplace=True),
            pool(),  # maxpool1
            Fire(96, 16, 64, 64),  # fire2
            Fire(128, 16, 64, 64),  # fire3
            Fire(128, 32, 128, 128),  # fire4
            pool(),  # maxpool4
            Fire(256, 32, 128, 128),  # fire5
            Fire(256, 48, 192, 192),  # fire6
            Fire(384, 48, 192, 192),  # fire7
            Fire(384, 64, 256, 256),  # fire8
            pool(),  # maxpool8
            Fire(512, 64, 256, 256),  # fire9
        )
    if version == "1_1":
        return nn.Sequential(  # SqueezeNet_v1.1 README: conv1 64 filters of 3x3, pooling after conv1, fire3, fire5
            nn.Conv2d(in_chans, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            pool(),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            pool(),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            pool(),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
    raise ValueError(f"version must be one of {', '.join(map(repr, VERSIONS))}, got {version!r}")


class SqueezeNet(nn.Module):
    """SqueezeNet (Sec. 3.3, Table 1): conv1, eight Fire modules, a 1x1 conv10 to the classes, global average pool.

    No fully connected layers: conv10 produces one map per class and a global average pool turns them into
    logits (Sec. 3.3.1, after Network in Network). Dropout 0.5 is applied after fire9.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        version: ``"1_0"`` (the paper) or ``"1_1"`` (the authors' v1.1).
        dropout: dropout probability after fire9 (0.5, Sec. 3.3.1).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 21 (version 1.0) or >= 17 (1.1), torchvision's minimum sizes.
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> SqueezeNet(num_classes=10, version="1_1")(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, version: str = "1_0", dropout: float = 0.5):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {', '.join(map(repr, VERSIONS))}, got {version!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.num_classes, self.in_chans, self.version = num_classes, in_chans, version
        self.features = make_features(version, in_chans)  # (N, 512, H', W')
        self.num_features = 512
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)  # conv10: one 1x1 filter per class
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),  # Sec. 3.3.1: dropout 50% after fire9
            final_conv,  # classifier.1
            nn.ReLU(inplace=True),  # as the authors' prototxt and torchvision: ReLU on conv10
            nn.AdaptiveAvgPool2d((1, 1)),  # global average pool (Table 1: avgpool10) -> (N, num_classes, 1, 1)
        )
        # Deviation: torchvision's initialisation (Kaiming-uniform convs, N(0, 0.01) for conv10, zero biases);
        # the authors' Caffe solver uses Xavier for the Fire layers and Gaussian(0, 0.01) for conv10.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The fire9 output: (N, 512, 13, 13) at 224 x 224."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x)).flatten(1)  # (N, num_classes) logits
