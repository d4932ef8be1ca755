"""AlexNet (Krizhevsky, Sutskever, Hinton: "ImageNet Classification with Deep Convolutional Neural Networks",
NeurIPS 2012).

Two layouts:

- ``layout="torchvision"`` (default): the single-tower network of Krizhevsky's "One weird trick for
  parallelizing convolutional neural networks" (arXiv:1404.5997) that ``torchvision.models.alexnet``
  implements: 64/192/384/256/256 channels, no local response normalisation, no grouped convolutions.
  State-dict compatible with torchvision (``features.0/3/6/8/10``, ``classifier.1/4/6``).
- ``layout="paper"``: the network of the 2012 paper (Sec. 3.5, Figure 2): 96/256/384/384/256 kernels,
  local response normalisation after the first two convolutional layers (Sec. 3.3), and the two-GPU
  connectivity of conv2, conv4 and conv5 written as two convolution groups.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LAYOUTS = ("torchvision", "paper")


class LocalResponseNorm(nn.Module):
    """Cross-channel local response normalisation (Sec. 3.3).

    b^i = a^i / (k + alpha * sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} (a^j)^2)^beta. Unlike ``nn.LocalResponseNorm``
    the sum is scaled by ``alpha`` itself (the paper's formula, not alpha / n), and it runs in bfloat16/float16
    on CPU (a 2-D average pool over the channel axis instead of PyTorch's 3-D one).

    Args:
        size: n, the number of adjacent maps summed over (odd).
        alpha: scale of the sum of squares.
        beta: exponent.
        k: additive constant.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> LocalResponseNorm()(torch.ones(1, 8, 2, 2)).shape
        torch.Size([1, 8, 2, 2])
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size must be a positive odd number, got {size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        sq = x.square().reshape(n, 1, c, h * w)  # channels as the pooled axis
        # mean over the window (zero maps beyond the ends count, as the formula's clipped sum) -> sum / size
        window = F.avg_pool2d(sq, (self.size, 1), stride=1, padding=(self.size // 2, 0), count_include_pad=True)
        window = window.reshape(n, c, h, w) * self.size  # sum_j (a^j)^2, (N, C, H, W)
        return x / (self.k + self.alpha * window).pow(self.beta)


def _lrn() -> LocalResponseNorm:
    return LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)  # Sec. 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75


def make_features(layout: str = "torchvision", in_chans: int = 3) -> nn.Sequential:
    """The five convolutional layers and three overlapping max pools.

    Args:
        layout: ``"torchvision"`` (One-weird-trick widths, no LRN) or ``"paper"`` (Sec. 3.5).
        in_chans: input channels.

    Returns:
        ``nn.Sequential`` mapping (N, in_chans, H, W) to (N, 256, H', W') (6x6 at 224).

    Examples:
        >>> len(make_features("torchvision")), len(make_features("paper"))
        (13, 15)
    """
    if layout == "torchvision":
        return nn.Sequential(  # indices match torchvision: features.0, .3, .6, .8, .10 are the convolutions
            nn.Conv2d(in_chans, 64, kernel_size=11, stride=4, padding=2),  # (N, 64, 55, 55) at 224
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # Sec. 3.4: overlapping pooling, z = 3, s = 2 -> 27x27
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 13x13
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 256, 6, 6)
        )
    if layout == "paper":
        # Sec. 3.5. groups=2 reproduces the two-GPU connectivity: "the kernels of the second, fourth, and fifth
        # convolutional layers are connected only to those kernel maps in the previous layer which reside on
        # the same GPU"; conv3 and the FC layers see both halves.
        return nn.Sequential(
            # Sec. 3.5: 96 kernels of 11x11x3, stride 4. Deviation: padding 2 (the paper's 224 input gives 55x55
            # only with some padding, or with a 227 input).
            nn.Conv2d(in_chans, 96, kernel_size=11, stride=4, padding=2),  # (N, 96, 55, 55)
            nn.ReLU(inplace=True),  # Sec. 3.1: ReLU after every layer
            _lrn(),  # Sec. 3.3: response normalisation after the ReLU of conv1 ...
            nn.MaxPool2d(kernel_size=3, stride=2),  # Sec. 3.4: overlapping max pooling -> 27x27
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),  # 256 kernels of 5x5x48
            nn.ReLU(inplace=True),
            _lrn(),  # ... and of conv2
            nn.MaxPool2d(kernel_size=3, stride=2),  # 13x13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # 384 kernels of 3x3x256 (all maps)
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),  # 384 kernels of 3x3x192
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),  # 256 kernels of 3x3x192
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 256, 6, 6)
        )
    raise ValueError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")


class AlexNet(nn.Module):
    """AlexNet: five convolutional layers and three fully connected layers (Sec. 3.5, Figure 2).

    The default is torchvision's single-tower layout (64/192/384/256/256 channels, no LRN, from
    "One weird trick", arXiv:1404.5997), whose checkpoints load with ``strict=True``. ``layout="paper"`` builds
    the 2012 network (96/256/384/384/256 kernels, LRN after conv1 and conv2, grouped conv2/4/5 in place of
    the two GPUs), about 61 M parameters.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        layout: ``"torchvision"`` or ``"paper"``.
        dropout: dropout probability before the first two fully connected layers (0.5, Sec. 4.2).
        hidden_features: width of the two hidden fully connected layers (4096 in Sec. 3.5; smaller values are
            for quick experiments and change the state-dict shapes).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 63 (three stride-2 max pools after a stride-4 convolution;
          an adaptive average pool to 6x6, the identity at 224 x 224, precedes the classifier).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = AlexNet(num_classes=10, hidden_features=64)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, layout: str = "torchvision",
                 dropout: float = 0.5, hidden_features: int = 4096):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        if hidden_features < 1:
            raise ValueError(f"hidden_features must be positive, got {hidden_features}")
        self.num_classes, self.in_chans, self.layout = num_classes, in_chans, layout
        self.features = make_features(layout, in_chans)
        self.num_features = 256
        # Deviation: adaptive pool to 6x6 (torchvision) so that other input sizes reach the 6x6x256 FC input;
        # at 224 x 224 the map is already 6x6 and the pool is the identity.
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(  # Sec. 3.5: FC-4096, FC-4096, FC-1000 (softmax in the loss)
            nn.Dropout(dropout),  # Sec. 4.2: dropout 0.5 in the first two fully connected layers
            nn.Linear(256 * 6 * 6, hidden_features),  # classifier.1: (N, 4096)
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_features, hidden_features),  # classifier.4: (N, 4096)
            nn.ReLU(inplace=True),
            nn.Linear(hidden_features, num_classes),  # classifier.6: (N, num_classes)
        )
        # Deviation: PyTorch's default initialisation (as torchvision). The paper draws weights from N(0, 0.01)
        # and sets the biases of conv2, conv4, conv5 and the hidden FC layers to 1, the others to 0 (Sec. 5).

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last pooled convolutional map: (N, 256, 6, 6) at 224 x 224."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x)).flatten(1)  # (N, 9216)
        return self.classifier(x)  # (N, num_classes) logits
