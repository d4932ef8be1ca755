"""ConvNeXt (Liu, Mao, Wu, Feichtenhofer, Darrell, Xie: "A ConvNet for the 2020s", CVPR 2022, arXiv:2201.03545).

State-dict compatible with torchvision's ``torchvision.models.convnext`` (``features.N.M.block.{0,2,3,5}``,
``features.N.M.layer_scale``, ``classifier.{0,2}``), so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) map (Sec. 2.6 "Separate downsampling layers").

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """Permutes the dimensions (torchvision's ``ops.misc.Permute``, no parameters)."""

    def __init__(self, dims: Sequence[int]):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth (Huang et al. 2016), per sample ("row" mode): drops the whole residual branch of a sample
    with probability p and rescales the kept ones by 1 / (1 - p)."""
    if not training or p == 0.0:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p)


class CNBlock(nn.Module):
    """The ConvNeXt block (Fig. 4 right): 7x7 depthwise conv -> LN -> 1x1 (4C) -> GELU -> 1x1 (C), scaled, + x.

    The two 1x1 convolutions are ``nn.Linear`` on channels-last tensors (the authors' and torchvision's
    implementation); a per-channel layer scale gamma (initialised to 1e-6, Sec. 3.1, from CaiT) multiplies
    the branch before the residual addition.

    Args:
        dim: channels C.
        layer_scale: initial value of gamma.
        stochastic_depth_prob: probability of dropping the residual branch per sample (training only).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)
    """

    def __init__(self, dim: int, layer_scale: float = 1e-6, stochastic_depth_prob: float = 0.0):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim),  # Sec. 2.3-2.5: depthwise, 7x7, moved up
            Permute([0, 2, 3, 1]),  # (N, H, W, C)
            nn.LayerNorm(dim, eps=1e-6),  # Sec. 2.6: a single LN per block (not BN), after the depthwise conv
            nn.Linear(dim, 4 * dim),  # Sec. 2.4: inverted bottleneck, 4x expansion (1x1 conv)
            nn.GELU(),  # Sec. 2.6: GELU, one activation per block
            nn.Linear(4 * dim, dim),  # 1x1 conv back to C
            Permute([0, 3, 1, 2]),  # (N, C, H, W)
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)  # gamma of layer scale, (C, 1, 1)
        self.stochastic_depth_prob = stochastic_depth_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = drop_path(self.layer_scale * self.block(x), self.stochastic_depth_prob, self.training)
        return x + branch


class ConvNeXt(nn.Module):
    """ConvNeXt image classifier (Sec. 2-3, Fig. 4), torchvision layout.

    Patchify stem (4x4 conv, stride 4, + LN, Sec. 2.2) -> four stages of ConvNeXt blocks with widths
    (C, 2C, 4C, 8C) and a 2x2 stride-2 conv downsampling layer (preceded by LN) between stages (Sec. 2.6) ->
    global average pool -> LN -> linear classifier.

    Sec. 3 configurations: ConvNeXt-T ``dims=(96, 192, 384, 768), depths=(3, 3, 9, 3)``; -S ``(96, ...)``,
    ``(3, 3, 27, 3)``; -B ``(128, 256, 512, 1024)``, ``(3, 3, 27, 3)``; -L ``(192, ..., 1536)``, ``(3, 3, 27, 3)``.

    Args:
        num_classes: number of output classes.
        in_chans: number of input channels.
        depths: number of blocks in each stage.
        dims: channels of each stage.
        layer_scale: initial value of the per-channel layer-scale gamma (1e-6 in the paper).
        stochastic_depth_prob: the final stochastic depth rate, increasing linearly from 0 over all blocks
            (0.0 by default: the inference setting; torchvision trains T/S/B with 0.1/0.4/0.5).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 32 (the network downsamples by 32; a stride-2 2x2 conv
          drops the last row/column of an odd map).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = ConvNeXt(num_classes=10, depths=(1, 1, 1, 1), dims=(8, 16, 32, 64))
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, depths: Sequence[int] = (3, 3, 9, 3),
                 dims: Sequence[int] = (96, 192, 384, 768), layer_scale: float = 1e-6,
                 stochastic_depth_prob: float = 0.0):
        super().__init__()
        depths, dims = list(depths), list(dims)
        if len(depths) != len(dims) or not depths:
            raise ValueError(f"depths and dims must have the same non-zero length, got {depths} and {dims}")
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in depths + dims):
            raise ValueError(f"depths and dims must be positive integers, got {depths} and {dims}")
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if not 0.0 <= stochastic_depth_prob < 1.0:
            raise ValueError(f"stochastic_depth_prob must be in [0, 1), got {stochastic_depth_prob}")
        if layer_scale <= 0:
            raise ValueError(f"layer_scale must be positive, got {layer_scale}")
        self.num_classes, self.in_chans = num_classes, in_chans

        # Sec. 2.2 "Changing stem to Patchify": 4x4 conv, stride 4 (+ LN, Sec. 2.6), like torchvision's
        # Conv2dNormActivation (conv with bias, norm, no activation).
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(in_chans, dims[0], kernel_size=4, stride=4),
                                                 LayerNorm2d(dims[0], eps=1e-6))]
        total, index = sum(depths), 0
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            stage = []
            for _ in range(depth):
                # Stochastic depth rate increases linearly with the block index (torchvision, authors' code).
                p = stochastic_depth_prob * index / max(total - 1, 1)
                stage.append(CNBlock(dim, layer_scale, p))
                index += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(depths):
                # Sec. 2.6 "Separate downsampling layers": LN, then a 2x2 conv with stride 2.
                layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = dims[-1]
        self.classifier = nn.Sequential(LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1), nn.Linear(dims[-1], num_classes))

        for m in self.modules():  # torchvision / authors' code: truncated normal (std 0.02), zero biases
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map before pooling: (N, dims[-1], ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x))  # (N, C, 1, 1)
        return self.classifier(x)  # LN, flatten, linear -> (N, num_classes)
