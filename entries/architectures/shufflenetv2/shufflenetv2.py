"""ShuffleNet V2 (Ma, Zhang, Zheng, Sun: "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", ECCV 2018, arXiv:1807.11164).

State-dict compatible with torchvision's ``shufflenet_v2_x*`` (``conv1``, ``stage2``-``stage4``
``.N.branch1/branch2``, ``conv5``, ``fc``), so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# Table 5: repeats of stages 2-4 and output channels of Conv1, Stage2, Stage3, Stage4, Conv5 per width.
STAGE_REPEATS: tuple[int, int, int] = (4, 8, 4)
WIDTHS: dict[float, tuple[int, int, int, int, int]] = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Channel shuffle (ShuffleNet v1, used in Fig. 3 (c)/(d)): interleave the channels of ``groups`` groups.

    Reshape (N, g * c, H, W) to (N, g, c, H, W), transpose to (N, c, g, H, W) and flatten back, so that the
    output channel ``i * g + j`` is channel ``i`` of group ``j``. A pure permutation, no parameters.

    Args:
        x: feature map (N, C, H, W), C divisible by ``groups``.
        groups: number of groups (2 in ShuffleNet V2: the two branches).

    Returns:
        The shuffled feature map, same shape.

    Examples:
        >>> import torch
        >>> channel_shuffle(torch.arange(6.).view(1, 6, 1, 1), 2).flatten().tolist()
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class InvertedResidual(nn.Module):
    """The ShuffleNet V2 unit (Sec. 3, Fig. 3 (c) basic unit and (d) spatial down sampling unit).

    Stride 1 (Fig. 3 (c)): *channel split* into two halves; the left half is the identity (G3: less
    fragmentation), the right goes through ``1x1 conv, BN, ReLU -> 3x3 depthwise, BN -> 1x1 conv, BN, ReLU``
    with equal input and output widths (G1); the halves are *concatenated* (no element-wise add, G4) and
    channel-shuffled. Stride 2 (Fig. 3 (d)): no split; both branches see the whole input, the left one is
    ``3x3 depthwise/2, BN -> 1x1 conv, BN, ReLU``, so the output has twice the channels of each branch.
    The module names (``branch1`` left, ``branch2`` right) are torchvision's.

    Args:
        in_channels: input channels.
        out_channels: output channels (even).
        stride: 1 (basic unit, ``in_channels == out_channels``) or 2 (down sampling unit).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if out_channels % 2:
            raise ValueError(f"out_channels must be even, got {out_channels}")
        branch = out_channels // 2
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a stride-1 unit keeps the width (Fig. 3 (c)), got {in_channels} -> {out_channels}")
        self.stride = stride
        if stride == 2:  # Fig. 3 (d) left branch
            self.branch1 = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels, bias=False),  # 3x3 DWConv (s=2)
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, branch, 1, bias=False),  # 1x1 Conv
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()  # Fig. 3 (c): identity; empty so the state dict matches torchvision
        self.branch2 = nn.Sequential(  # Fig. 3 (c)/(d) right branch
            nn.Conv2d(in_channels if stride == 2 else branch, branch, 1, bias=False),  # 1x1 Conv
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),  # 3x3 DWConv, no ReLU after it
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),  # 1x1 Conv
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:  # fixed at construction: no data-dependent control flow
            x1, x2 = x.chunk(2, dim=1)  # Fig. 3 (c): channel split into c - c' = c' = c / 2
            out = torch.cat((x1, self.branch2(x2)), dim=1)  # Concat
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)  # Fig. 3 (d): (N, 2 * branch, H/2, W/2)
        return channel_shuffle(out, 2)  # Channel Shuffle


class ShuffleNetV2(nn.Module):
    """ShuffleNet V2 for ImageNet classification (Table 5), torchvision layout.

    ``Conv1 3x3/2, 24`` -> ``MaxPool 3x3/2`` -> Stage2/3/4 (each one down sampling unit and 3/7/3 basic
    units) -> ``Conv5 1x1`` -> global average pool -> FC.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        width: the complexity level of Table 5 (0.5, 1.0, 1.5 or 2.0); ignored when ``stages_out_channels``
            is given.
        stages_repeats: units per stage (Table 5: 4, 8, 4).
        stages_out_channels: output channels of Conv1, Stage2-4 and Conv5; Table 5's column for ``width``
            when None.

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 1 (downsampling by 32, then a global pool).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = ShuffleNetV2(num_classes=10, width=0.5)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, width: float = 1.0,
                 stages_repeats: Sequence[int] = STAGE_REPEATS,
                 stages_out_channels: Sequence[int] | None = None):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if stages_out_channels is None:
            if width not in WIDTHS:
                raise ValueError(f"width must be one of {sorted(WIDTHS)} (Table 5), got {width}")
            stages_out_channels = WIDTHS[width]
        repeats, chans = [int(r) for r in stages_repeats], [int(c) for c in stages_out_channels]
        if len(repeats) != 3 or min(repeats) < 1:
            raise ValueError(f"stages_repeats must be 3 positive ints, got {repeats}")
        if len(chans) != 5 or min(chans) < 1 or any(c % 2 for c in chans[1:4]):
            raise ValueError(f"stages_out_channels must be 5 positive ints (stages even), got {chans}")
        self.num_classes, self.in_chans, self.width = num_classes, in_chans, width

        self.conv1 = nn.Sequential(  # Table 5: Conv1 3x3, stride 2, 24 channels (BN + ReLU)
            nn.Conv2d(in_chans, chans[0], 3, 2, 1, bias=False),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # Table 5: MaxPool 3x3, stride 2
        channels = chans[0]
        for name, n, out in zip(("stage2", "stage3", "stage4"), repeats, chans[1:4]):
            # Table 5: each stage starts with one stride-2 unit (Fig. 3 (d)), then n - 1 basic units.
            units = [InvertedResidual(channels, out, 2)] + [InvertedResidual(out, out, 1) for _ in range(n - 1)]
            setattr(self, name, nn.Sequential(*units))
            channels = out
        self.conv5 = nn.Sequential(  # Table 5: Conv5 1x1 (Sec. 4: "an additional 1x1 convolution layer")
            nn.Conv2d(channels, chans[4], 1, bias=False),
            nn.BatchNorm2d(chans[4]),
            nn.ReLU(inplace=True),
        )
        self.num_features = chans[4]
        self.fc = nn.Linear(chans[4], num_classes)  # Table 5: GlobalPool 7x7, FC

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The Conv5 output before pooling: (N, 1024 | 2048, ~H/32, ~W/32)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        x = self.maxpool(self.conv1(x))  # (N, 24, H/4, W/4)
        x = self.stage4(self.stage3(self.stage2(x)))  # (N, C4, H/32, W/32)
        return self.conv5(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x).mean((2, 3))  # GlobalPool -> (N, C5)
        return self.fc(x)  # (N, num_classes)
