"""U-Net (Ronneberger, Fischer, Brox: "U-Net: Convolutional Networks for Biomedical Image Segmentation",
MICCAI 2015, arXiv:1505.04597).

A contracting path of 3x3 convolutions and 2x2 max pools (64 -> 1024 channels) and a symmetric expanding
path of 2x2 up-convolutions, concatenations with the (cropped) contracting features and 3x3 convolutions,
closed by a 1x1 convolution to the classes (Sec. 2, Fig. 1). ``padding="valid"`` is the paper's network
(572 x 572 in -> 388 x 388 out); ``padding="same"`` (the default) keeps the output at the input size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def valid_output_size(size: int, depth: int = 4) -> int | None:
    """Output side of the valid-padding U-Net for an input side ``size``, or None where a 2x2 max pool
    would meet an odd size (Sec. 2: choose tiles so that every pool sees an even size).

    Examples:
        >>> valid_output_size(572), valid_output_size(570)
        (388, None)
    """
    for _ in range(depth):  # contracting path: two 3x3 valid convs (-4), then a 2x2 pool (/2)
        size -= 4
        if size <= 0 or size % 2:
            return None
        size //= 2
    size -= 4  # bottom: two 3x3 convs
    for _ in range(depth):  # expanding path: 2x2 up-conv (x2), then two 3x3 convs (-4)
        size = size * 2 - 4
    return size if size > 0 else None


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by a ReLU (Sec. 2); unpadded ("valid") or padded by 1 ("same")."""

    def __init__(self, in_channels: int, out_channels: int, padding: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=padding), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=padding), nn.ReLU(inplace=True),
        )


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The central (height, width) window of x (Fig. 1's "copy and crop")."""
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[..., top:top + height, left:left + width]


class UNet(nn.Module):
    """U-Net (Sec. 2, Fig. 1).

    Contracting path: ``depth`` steps of two 3x3 convolutions + ReLU and a 2x2 max pool with stride 2,
    doubling the channels at every downsampling (64, 128, 256, 512, then 1024 at the bottom). Expanding
    path: a 2x2 up-convolution that halves the channels, a concatenation with the corresponding contracting
    feature map (center-cropped in valid mode), two 3x3 convolutions + ReLU. A final 1x1 convolution maps
    each 64-component feature vector to ``num_classes`` scores: 23 convolutional layers at depth 4.

    Args:
        in_chans: input channels (1 for the paper's grey-level microscopy images).
        num_classes: output channels, one score map per class (2 in the paper: cell / background).
        padding: ``"same"`` (3x3 convs padded by 1; output size = input size, any H, W >= 1) or ``"valid"``
            (the paper's unpadded convs; 572 -> 388, see :func:`valid_output_size`).
        base_width: channels of the first level (64 in Fig. 1); level i has base_width * 2**i.
        depth: number of 2x2 max pools (4 in Fig. 1).
        dropout: dropout probability at the end of the contracting path (Sec. 3.1 names dropout layers there
            without a rate; 0 disables them).

    Shape:
        - Input: (N, in_chans, H, W)
        - Output: (N, num_classes, H, W) with ``"same"``; (N, num_classes, H', W') with ``"valid"``,
          H' = valid_output_size(H)

    Examples:
        >>> model = UNet(1, 2)
        >>> model(torch.randn(1, 1, 64, 48)).shape
        torch.Size([1, 2, 64, 48])
        >>> UNet(1, 2, padding="valid", base_width=4)(torch.randn(1, 1, 572, 572)).shape
        torch.Size([1, 2, 388, 388])
    """

    def __init__(self, in_chans: int = 1, num_classes: int = 2, *, padding: str = "same", base_width: int = 64,
                 depth: int = 4, dropout: float = 0.0):
        super().__init__()
        if in_chans < 1 or num_classes < 1:
            raise ValueError(f"in_chans and num_classes must be positive, got {in_chans} and {num_classes}")
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        if base_width < 1 or depth < 1:
            raise ValueError(f"base_width and depth must be positive, got {base_width} and {depth}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.in_chans, self.num_classes, self.padding, self.depth = in_chans, num_classes, padding, depth
        pad = 1 if padding == "same" else 0  # Deviation ("same"): the paper's convolutions are unpadded
        widths = [base_width * 2 ** i for i in range(depth + 1)]  # Fig. 1: 64, 128, 256, 512, 1024
        self.down = nn.ModuleList()
        channels = in_chans
        for w in widths[:-1]:
            self.down.append(DoubleConv(channels, w, pad))
            channels = w
        self.pool = nn.MaxPool2d(2, stride=2)  # Sec. 2: 2x2 max pooling, stride 2
        self.dropout = nn.Dropout(dropout)  # Sec. 3.1: drop-out at the end of the contracting path
        self.bottom = DoubleConv(widths[-2], widths[-1], pad)  # (N, 1024, ...)
        self.up = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        for w_low, w in zip(widths[:0:-1], widths[-2::-1]):
            # Sec. 2: upsampling followed by a 2x2 convolution that halves the channels ("up-conv 2x2"),
            # i.e. a stride-2 transposed convolution with a 2x2 kernel
            self.up.append(nn.ConvTranspose2d(w_low, w, 2, stride=2))
            self.up_convs.append(DoubleConv(2 * w, w, pad))  # after concatenation: 2w -> w -> w
        self.head = nn.Conv2d(widths[0], num_classes, 1)  # Sec. 2: 1x1 conv, 64 -> classes
        self._init_weights()

    def _init_weights(self) -> None:
        # Sec. 3: Gaussian with standard deviation sqrt(2 / N), N the number of incoming nodes of one neuron
        # (9 * 64 for a 3x3 conv on 64 channels). A 2x2/stride-2 up-conv output sees one tap per input channel.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.ConvTranspose2d):
                fan_in = m.in_channels
            else:
                continue
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_in))
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if self.padding == "valid":
            h, w = x.shape[-2], x.shape[-1]
            if valid_output_size(h, self.depth) is None or valid_output_size(w, self.depth) is None:
                raise ValueError(f"padding='valid' needs a tile where every 2x2 pool sees an even size "
                                 f"(Sec. 2, e.g. 572 -> 388), got {h} x {w}")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)  # copied to the expanding path
            x = self.pool(x)
        x = self.bottom(self.dropout(x))
        for up, block, skip in zip(self.up, self.up_convs, reversed(skips)):
            x = up(x)  # (N, C/2, 2h, 2w)
            if self.padding == "valid":
                skip = center_crop(skip, x.shape[-2], x.shape[-1])  # Fig. 1: copy and crop
            else:
                # Deviation ("same"): at sizes not divisible by 2**depth the pooled maps were floored; pad the
                # upsampled map (by at most one pixel) to the skip's size instead of cropping the skip
                x = F.pad(x, (0, skip.shape[-1] - x.shape[-1], 0, skip.shape[-2] - x.shape[-2]))
            x = block(torch.cat([skip, x], dim=1))  # (N, C, ...)
        return self.head(x)  # (N, num_classes, H, W) scores; the pixel-wise softmax is in the loss
