"""VGG (Simonyan, Zisserman: "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, arXiv:1409.1556).

State-dict compatible with torchvision's ``torchvision.models.vgg`` (``features.N``, ``classifier.0/3/6``),
so its checkpoints (``vgg16``, ``vgg16_bn``, ...) load with ``strict=True``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# Table 1: convolutional layers per configuration; an int is a 3x3 conv with that many channels
# ("conv3-64"), "M" a 2x2 max pool with stride 2 (Sec. 2.1).
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),  # VGG-11
    "B": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),  # VGG-13
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),  # VGG-16
    "E": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"),  # VGG-19
}


def make_features(config: Sequence[int | str], in_chans: int = 3, batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part of a Table 1 column, in torchvision's flat ``features.N`` numbering.

    Args:
        config: channels of each 3x3 convolution and ``"M"`` for each max pool.
        in_chans: input channels.
        batch_norm: put a BatchNorm2d between every convolution and its ReLU (not in the paper).

    Returns:
        ``nn.Sequential`` of conv (3x3, stride 1, padding 1) [-> BN] -> ReLU blocks and 2x2/2 max pools.

    Examples:
        >>> len(make_features(CONFIGS["A"])), len(make_features(CONFIGS["A"], batch_norm=True))
        (21, 29)
    """
    layers: list[nn.Module] = []
    channels = in_chans
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))  # Sec. 2.1: 2x2 window, stride 2
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"config entries must be positive channel counts or 'M', got {v!r}")
        # Sec. 2.1: 3x3 receptive field, stride 1, padding 1 (spatial resolution preserved).
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))  # Deviation: BN is not in the paper (torchvision's vgg*_bn)
        layers.append(nn.ReLU(inplace=True))  # Sec. 2.1: all hidden layers use ReLU
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG network (Sec. 2, Table 1), torchvision layout.

    A stack of 3x3 convolutions with ReLU in five groups separated by 2x2 max pools (channels 64 -> 512),
    then three fully connected layers (4096, 4096, num_classes) with dropout 0.5 after the first two
    (Sec. 3.1). Configurations A (11 weight layers), B (13), D (16) and E (19) of Table 1 are the
    variants ``vgg11``, ``vgg13``, ``vgg16``, ``vgg19``; ``*_bn`` adds BatchNorm after every convolution.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        config: ``"A"``, ``"B"``, ``"D"``, ``"E"`` (Table 1) or a custom sequence of channel counts and ``"M"``.
        batch_norm: BatchNorm2d after every convolution (torchvision's ``vgg*_bn``; not in the paper).
        dropout: dropout probability after the first two fully connected layers (0.5, Sec. 3.1).
        hidden_features: width of the two hidden fully connected layers (4096 in Table 1; smaller values
            are for quick experiments, and change the state-dict shapes).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 32 (five 2x2 pools; an adaptive average pool to 7x7
          precedes the classifier, the identity at 224 x 224).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = VGG(num_classes=10, config="A")
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, config: str | Sequence[int | str] = "D",
                 batch_norm: bool = False, dropout: float = 0.5, hidden_features: int = 4096):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if isinstance(config, str):
            if config not in CONFIGS:
                raise ValueError(f"config must be one of {', '.join(map(repr, CONFIGS))} or a sequence, got {config!r}")
            layers = CONFIGS[config]
        else:
            layers = tuple(config)
        channels = [v for v in layers if v != "M"]
        if not channels:
            raise ValueError("config must contain at least one convolution")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        if hidden_features < 1:
            raise ValueError(f"hidden_features must be positive, got {hidden_features}")
        self.num_classes, self.in_chans, self.config, self.batch_norm = num_classes, in_chans, config, batch_norm
        self.features = make_features(layers, in_chans, batch_norm)  # (N, 512, H/32, W/32)
        self.num_features = channels[-1]
        # Deviation: adaptive pool to 7x7 (torchvision) so that any input size reaches the 7x7x512 FC input;
        # the paper feeds fixed 224 x 224 crops (7x7 after five pools, identity here) or converts the FC
        # layers to convolutions for dense evaluation (Sec. 3.2).
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(  # Sec. 2.1: FC-4096, FC-4096, FC-1000 (softmax in the loss)
            nn.Linear(self.num_features * 7 * 7, hidden_features),  # classifier.0: (N, 4096)
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),  # Sec. 3.1: dropout (0.5) on the first two FC layers
            nn.Linear(hidden_features, hidden_features),  # classifier.3: (N, 4096)
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_features, num_classes),  # classifier.6: (N, num_classes)
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # Deviation: torchvision's init (kaiming-normal fan-out convs, zero biases, N(0, 0.01) FC weights).
        # The paper trains A from N(0, 0.01) and initialises deeper nets from A, later noting that Glorot
        # init works without pre-training (Sec. 3.1).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional map before pooling: (N, 512, H/32, W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, 512 * 7 * 7)
        return self.classifier(x)  # (N, num_classes) logits
