"""Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens, Wojna: "Rethinking the Inception Architecture for Computer
Vision", CVPR 2016, arXiv:1512.00567).

State-dict compatible with ``torchvision.models.inception_v3`` (``Conv2d_1a_3x3.conv``, ``Mixed_5b.branch1x1``,
``AuxLogits.conv0``, ``fc``), which ports the authors' TF-slim checkpoint. torchvision's checkpoint holds the
``AuxLogits`` keys, so build with ``aux_logits=True`` to load it with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class BasicConv2d(nn.Module):
    """Convolution (no bias) -> BatchNorm (eps 0.001) -> ReLU. Sec. 10: batch-normalised layers throughout."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionA(nn.Module):
    """35x35 module (Figure 5): the 5x5 is replaced by two 3x3 convolutions (Sec. 3.1) in one branch.

    torchvision/TF-slim keep a 1x1 -> 5x5 branch next to the 1x1 -> 3x3 -> 3x3 one (Mixed_5b-d).
    Output channels: 64 + 64 + 96 + pool_features.
    """

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)  # Sec. 3.1: 5x5 -> two 3x3
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Sec. 5, Figure 10): stride-2 conv branches in parallel with a stride-2 pool.

    Output channels: 384 + 96 + in_channels.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)  # Figure 10: pooling in parallel avoids the bottleneck
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    """17x17 module with asymmetric factorisation (Sec. 3.2, Figure 6): n x n -> 1 x n then n x 1, n = 7.

    Output channels: 4 x 192 = 768.
    """

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))  # 1x7
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))  # then 7x1
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        bd = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(bd))))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Sec. 5, Figure 10). Output channels: 320 + 192 + in_channels."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 module with expanded filter banks (Sec. 3.2, Figure 7): 1x3 and 3x1 side by side, concatenated.

    Output channels: 320 + 768 + 768 + 192 = 2048.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)  # Figure 7: parallel 1x3 | 3x1
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b3, bd, bp], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on the last 17x17 layer (Sec. 4, Figure 8), with BatchNorm (Sec. 7 "BN-auxiliary").

    Average pool 5x5/3 (17 -> 5), 1x1 conv 128, 5x5 conv 768 (5 -> 1), FC to the classes.
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, kernel_size=5, stride=3)  # (N, 768, 5, 5) at 17x17
        x = self.conv1(self.conv0(x))  # (N, 768, 1, 1)
        return self.fc(F.adaptive_avg_pool2d(x, (1, 1)).flatten(1))  # (N, num_classes)


class Inception3(nn.Module):
    """Inception-v3 (Table 1): a factorised stem, 3 x InceptionA (35x35), reduction, 4 x InceptionC (17x17),
    reduction, 2 x InceptionE (8x8), global average pool, dropout, FC.

    ``forward`` always returns the main logits (N, num_classes), in train and eval mode. With
    ``aux_logits=True`` the auxiliary head exists (torchvision's checkpoint holds its keys) and
    ``forward_with_aux`` returns ``(logits, aux)`` (torchvision's ``InceptionOutputs`` order).

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        aux_logits: build the auxiliary classifier (Sec. 4). Needed to load torchvision's checkpoint strictly.
        transform_input: map ImageNet-normalised input to [-1, 1] per channel, as torchvision does for the
            TF-ported weights (requires ``in_chans=3``).
        dropout: dropout before the last FC layer (0.5, torchvision and TF-slim).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 75 (torchvision's min_size); 299 x 299 natively.
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> Inception3(num_classes=10)(torch.randn(2, 3, 75, 75)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, aux_logits: bool = False,
                 transform_input: bool = False, dropout: float = 0.5):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if transform_input and in_chans != 3:
            raise ValueError("transform_input needs in_chans=3 (it rescales the three ImageNet channels)")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.num_classes, self.in_chans = num_classes, in_chans
        self.aux_logits, self.transform_input = aux_logits, transform_input
        # Table 1 stem (Sec. 6: the 7x7 conv factorised into three 3x3 convolutions).
        self.Conv2d_1a_3x3 = BasicConv2d(in_chans, 32, kernel_size=3, stride=2)  # 299 -> 149
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)  # 147
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)  # 147
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)  # 73
        # Deviation: Table 1 lists conv 3x3/1 (80) and conv 3x3/2 (192) here; the released network (TF-slim,
        # torchvision) has a 1x1 conv to 80, a 3x3 conv to 192 and a max pool.
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)  # 73
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)  # 71
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)  # (N, 192, 35, 35)
        self.Mixed_5b = InceptionA(192, pool_features=32)  # (N, 256, 35, 35)
        self.Mixed_5c = InceptionA(256, pool_features=64)  # (N, 288, 35, 35)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)  # (N, 768, 17, 17)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)  # (N, 768, 17, 17)
        self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None  # Sec. 4: on top of the 17x17 grid
        self.Mixed_7a = InceptionD(768)  # (N, 1280, 8, 8)
        self.Mixed_7b = InceptionE(1280)  # (N, 2048, 8, 8)
        self.Mixed_7c = InceptionE(2048)
        self.num_features = 2048
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # Table 1: pool 8x8
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)  # Table 1: linear, softmax (in the loss)
        # torchvision's initialisation: truncated normal std 0.1 (0.01 for AuxLogits.conv1, 0.001 for AuxLogits.fc)
        stddev = {}
        if self.AuxLogits is not None:
            stddev = {self.AuxLogits.conv1.conv: 0.01, self.AuxLogits.fc: 0.001}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                std = stddev.get(m, 0.1)
                nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if not self.transform_input:
            return x
        std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5  # torchvision's transform_input

    def _to_17x17(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(self._transform(x)))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6a(x)
        return self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))  # (N, 768, 17, 17)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.avgpool(x)).flatten(1))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The Mixed_7c map before the global pool: (N, 2048, 8, 8) at 299 x 299."""
        return self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(self._to_17x17(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._classify(self.forward_features(x))  # (N, num_classes) main logits only (the io contract)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Main and auxiliary logits for training (Sec. 4; TF-slim weighs the auxiliary loss by 0.4).

        Returns:
            ``(logits, aux)``, each (N, num_classes).

        Raises:
            ValueError: if the model was built with ``aux_logits=False``, or if the input is smaller than
                299 x 299 (the auxiliary head's 5x5/3 pool and 5x5 convolution need the 17x17 grid).
        """
        if self.AuxLogits is None:
            raise ValueError("forward_with_aux needs a model built with aux_logits=True")
        h = self._to_17x17(x)
        if h.shape[-2] < 17 or h.shape[-1] < 17:  # 5x5/3 pool then a 5x5 conv need the 17x17 grid
            raise ValueError(f"the auxiliary head needs inputs of at least 299 x 299, got {tuple(x.shape[-2:])}")
        aux = self.AuxLogits(h)
        return self._classify(self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(h)))), aux
