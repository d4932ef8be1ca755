"""GoogLeNet / Inception v1 (Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich:
"Going Deeper with Convolutions", CVPR 2015, arXiv:1409.4842).

By default state-dict compatible with ``torchvision.models.googlenet`` (``conv1.conv``, ``inception3a.branch2.1.bn``,
``aux1.fc1``, ...): BatchNorm after every convolution and, in the "5x5" branch, a 3x3 kernel, a known bug kept
by torchvision for its weights (pytorch/vision#906). ``branch3_kernel=5, batch_norm=False, lrn=True,
dropout=0.4`` (the ``googlenet_paper`` variant) builds the network of Table 1 / Figure 3.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Table 1, Inception rows: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
TABLE1: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class LocalResponseNorm(nn.Module):
    """Cross-channel local response normalisation (AlexNet's, used in Figure 3's stem).

    b^i = a^i / (k + alpha * sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} (a^j)^2)^beta. Unlike ``nn.LocalResponseNorm``
    the sum is scaled by ``alpha`` itself (AlexNet's formula, not alpha / n), and it runs in bfloat16/float16
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


class BasicConv2d(nn.Module):
    """Convolution -> [BatchNorm] -> ReLU (Sec. 5: "All the convolutions ... use rectified linear activation").

    Args:
        in_channels: input channels.
        out_channels: output channels.
        batch_norm: BatchNorm (eps 0.001) after the convolution, and no convolution bias (torchvision; the paper
            predates BatchNorm and uses biased convolutions).
        **kwargs: ``kernel_size``, ``stride``, ``padding`` of the convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=not batch_norm, **kwargs)
        # Deviation (default): BatchNorm is not in the paper (torchvision's port of the TF weights has it).
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Inception module with dimension reductions (Sec. 4, Figure 2(b)).

    Four parallel branches concatenated along the channels: 1x1; 1x1 reduce -> 3x3; 1x1 reduce -> 5x5; 3x3 max
    pool (stride 1) -> 1x1 projection.

    Args:
        in_channels: input channels.
        ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj: the Table 1 columns.
        batch_norm: BatchNorm after each convolution (torchvision).
        branch3_kernel: kernel of the "5x5" branch: 5 as in the paper, 3 in torchvision (pytorch/vision#906).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)

    Examples:
        >>> import torch
        >>> Inception(192, *TABLE1["3a"])(torch.randn(1, 192, 28, 28)).shape
        torch.Size([1, 256, 28, 28])
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, batch_norm: bool = True, branch3_kernel: int = 3):
        super().__init__()
        if branch3_kernel not in (3, 5):
            raise ValueError(f"branch3_kernel must be 3 (torchvision) or 5 (paper), got {branch3_kernel}")
        self.branch1 = BasicConv2d(in_channels, ch1x1, batch_norm, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, batch_norm, kernel_size=1),  # 1x1 reduction before the 3x3
            BasicConv2d(ch3x3red, ch3x3, batch_norm, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, batch_norm, kernel_size=1),  # 1x1 reduction before the 5x5
            # Deviation (default): torchvision's 3x3 kernel here is a known bug kept for weight compatibility
            # (pytorch/vision#906); branch3_kernel=5 gives the paper's 5x5.
            BasicConv2d(ch5x5red, ch5x5, batch_norm, kernel_size=branch3_kernel, padding=branch3_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),  # Sec. 4: parallel pooling path
            BasicConv2d(in_channels, pool_proj, batch_norm, kernel_size=1),  # "pool proj"
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)  # filter concat


class InceptionAux(nn.Module):
    """Auxiliary classifier on inception (4a) and (4d) (Sec. 5).

    Average pool 5x5/3 (4x4 output at 14x14), 1x1 conv with 128 filters, FC 1024 + ReLU, dropout 70%, linear
    classifier. The pool is adaptive to 4x4 (torchvision), equal to 5x5/3 at 224 x 224.

    Args:
        in_channels: channels of the tapped map (512 for 4a, 528 for 4d).
        num_classes: classes.
        batch_norm: BatchNorm after the 1x1 conv (torchvision).
        dropout: dropout before the classifier (0.7, Sec. 5).
    """

    def __init__(self, in_channels: int, num_classes: int, batch_norm: bool = True, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, batch_norm, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))  # (N, C, 4, 4)
        x = self.conv(x).flatten(1)  # (N, 2048)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))  # (N, 1024)
        return self.fc2(x)  # (N, num_classes)


class GoogLeNet(nn.Module):
    """GoogLeNet (Sec. 5, Table 1): a stem, nine Inception modules in three groups, global average pool, one FC.

    ``forward`` always returns the main logits (N, num_classes), in train and eval mode. With
    ``aux_logits=True`` the two auxiliary heads exist (their keys are in the state dict, as in torchvision's
    checkpoint) and ``forward_with_aux`` returns ``(logits, aux2, aux1)`` (torchvision's ``GoogLeNetOutputs``
    order) for training with the paper's loss ``main + 0.3 * (aux1 + aux2)``.

    Args:
        num_classes: number of output classes (1000 for ImageNet).
        in_chans: number of input channels.
        aux_logits: build the two auxiliary classifiers (Sec. 5). Needed to load torchvision's checkpoint strictly.
        transform_input: map ImageNet-normalised input to [-1, 1] per channel, as torchvision does for its
            TF-ported weights (requires ``in_chans=3``).
        batch_norm: BatchNorm after every convolution (torchvision; not in the paper).
        branch3_kernel: 3 (torchvision) or 5 (paper) in the "5x5" branch of every Inception module.
        lrn: local response normalisation after the first max pool and after conv3 (Figure 3; not in torchvision).
        dropout: dropout before the last FC layer (torchvision 0.2; Table 1: 40%).
        dropout_aux: dropout in the auxiliary heads (70%, Sec. 5).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= 15 (torchvision's min_size).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> GoogLeNet(num_classes=10)(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, aux_logits: bool = False,
                 transform_input: bool = False, batch_norm: bool = True, branch3_kernel: int = 3, lrn: bool = False,
                 dropout: float = 0.2, dropout_aux: float = 0.7):
        super().__init__()
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if transform_input and in_chans != 3:
            raise ValueError("transform_input needs in_chans=3 (it rescales the three ImageNet channels)")
        if not (0.0 <= dropout <= 1.0 and 0.0 <= dropout_aux <= 1.0):
            raise ValueError(f"dropout and dropout_aux must be in [0, 1], got {dropout} and {dropout_aux}")
        if branch3_kernel not in (3, 5):
            raise ValueError(f"branch3_kernel must be 3 (torchvision) or 5 (paper), got {branch3_kernel}")
        self.num_classes, self.in_chans = num_classes, in_chans
        self.aux_logits, self.transform_input = aux_logits, transform_input
        bn, k = batch_norm, branch3_kernel
        # Table 1 stem: conv 7x7/2 (64), max pool 3x3/2, conv 1x1 (64) + conv 3x3 (192), max pool 3x3/2.
        self.conv1 = BasicConv2d(in_chans, 64, bn, kernel_size=7, stride=2, padding=3)  # (N, 64, 112, 112)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 64, 56, 56)
        # Figure 3: LocalRespNorm after the first pool and after conv3 (paper layout only). The paper gives no
        # constants; these are Caffe's bvlc_googlenet ones (local_size 5, alpha 1e-4 scaling the window mean,
        # beta 0.75, k 1).
        self.lrn1 = LocalResponseNorm(5, alpha=1e-4 / 5, beta=0.75, k=1.0) if lrn else nn.Identity()
        self.conv2 = BasicConv2d(64, 64, bn, kernel_size=1)  # "3x3 reduce" of the stem
        self.conv3 = BasicConv2d(64, 192, bn, kernel_size=3, padding=1)  # (N, 192, 56, 56)
        self.lrn2 = LocalResponseNorm(5, alpha=1e-4 / 5, beta=0.75, k=1.0) if lrn else nn.Identity()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 192, 28, 28)

        def block(cin: int, name: str) -> Inception:
            return Inception(cin, *TABLE1[name], batch_norm=bn, branch3_kernel=k)

        self.inception3a = block(192, "3a")  # (N, 256, 28, 28)
        self.inception3b = block(256, "3b")  # (N, 480, 28, 28)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 480, 14, 14)
        self.inception4a = block(480, "4a")  # (N, 512, 14, 14)
        self.inception4b = block(512, "4b")
        self.inception4c = block(512, "4c")
        self.inception4d = block(512, "4d")  # (N, 528, 14, 14)
        self.inception4e = block(528, "4e")  # (N, 832, 14, 14)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # (N, 832, 7, 7); torchvision's 2x2 (Table 1: 3x3)
        self.inception5a = block(832, "5a")
        self.inception5b = block(832, "5b")  # (N, 1024, 7, 7)
        if aux_logits:  # Sec. 5: auxiliary classifiers on top of (4a) and (4d)
            self.aux1 = InceptionAux(512, num_classes, bn, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, bn, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.num_features = 1024
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # Sec. 5: average pooling instead of FC layers (7x7 at 224)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)  # linear layer before the softmax
        # torchvision's initialisation: truncated normal (std 0.01, +-2 std) for conv and linear weights.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-0.02, b=0.02)
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
        # torchvision: (x * std + mean - 0.5) / 0.5, i.e. undo ImageNet normalisation and map [0, 1] to [-1, 1]
        std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def _stem_to_4a(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lrn1(self.maxpool1(self.conv1(self._transform(x))))
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        return self.inception4a(x)  # (N, 512, 14, 14)

    def _4a_to_4d(self, x: torch.Tensor) -> torch.Tensor:
        return self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, 14, 14)

    def _head_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool4(self.inception4e(x))
        return self.inception5b(self.inception5a(x))  # (N, 1024, 7, 7)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))  # (N, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The inception (5b) map before the global pool: (N, 1024, 7, 7) at 224 x 224."""
        return self._head_features(self._4a_to_4d(self._stem_to_4a(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._classify(self.forward_features(x))  # main logits only (the io contract)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Main and auxiliary logits for training with the paper's weighted loss (Sec. 5).

        Returns:
            ``(logits, aux2, aux1)``, each (N, num_classes): aux1 from (4a), aux2 from (4d) (torchvision order).

        Raises:
            ValueError: if the model was built with ``aux_logits=False``.
        """
        if self.aux1 is None or self.aux2 is None:
            raise ValueError("forward_with_aux needs a model built with aux_logits=True")
        a = self._stem_to_4a(x)
        aux1 = self.aux1(a)
        d = self._4a_to_4d(a)
        aux2 = self.aux2(d)
        return self._classify(self._head_features(d)), aux2, aux1
