"""LeNet-5 (LeCun, Bottou, Bengio, Haffner: "Gradient-Based Learning Applied to Document Recognition",
Proceedings of the IEEE 86(11), 1998, Sec. II.B).

The paper's network, layer by layer: C1 (6@28x28), S2 (trainable subsampling), C3 (16@10x10 with the
partial connection scheme of Table I), S4, C5 (120), F6 (84), and an output of Euclidean RBF units,
every layer up to F6 squashed by the scaled tanh f(a) = 1.7159 tanh(2a/3). ``modern=True`` gives the
common modern reading (full C3, ReLU, 2x2 max pool, linear output), which is *not* the paper.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Table I: which S2 feature maps (rows 0-5) each C3 feature map (columns 0-15) takes as input. The first six
# take contiguous triples, the next six contiguous quadruples, the next three non-contiguous quadruples and the
# last one all six maps (Sec. II.B).
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

SQUASH_A = 1.7159  # Sec. II.B / Appendix A: amplitude A of f(a) = A tanh(S a)
SQUASH_S = 2.0 / 3.0  # Appendix A: slope S at the origin


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Sec. II.B, Appendix A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SQUASH_A * torch.tanh(SQUASH_S * x)


class Subsampling(nn.Module):
    """Trainable subsampling (layers S2, S4; Sec. II.B).

    The four inputs of each 2x2 non-overlapping neighbourhood are added, multiplied by a trainable
    coefficient and shifted by a trainable bias, one coefficient and one bias per feature map
    (2 parameters per map). The squashing follows in the network.

    Args:
        channels: number of feature maps.

    Shape:
        - Input: (N, C, H, W) with even H, W
        - Output: (N, C, H/2, W/2)

    Examples:
        >>> Subsampling(6)(torch.randn(2, 6, 28, 28)).shape
        torch.Size([2, 6, 14, 14])
    """

    def __init__(self, channels: int):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        self.weight = nn.Parameter(torch.ones(channels))  # trainable coefficient
        self.bias = nn.Parameter(torch.zeros(channels))  # trainable bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = F.avg_pool2d(x, 2) * 4.0  # sum of the 2x2 receptive field, (N, C, H/2, W/2)
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """C3: a 5x5 convolution whose output map j sees only the input maps ``table[j]`` (Table I).

    Only the connected kernels are parameters (sum over j of |table[j]| * k * k weights plus one bias per
    output map: 60 * 25 + 16 = 1,516 for Table I). They are scattered into a dense, zero-filled
    (C_out, C_in, k, k) kernel by a fixed index and applied with one convolution (no loop over maps).

    Args:
        in_channels: number of input maps.
        table: for each output map, the indices of the input maps it is connected to.
        kernel_size: square kernel size (5 in LeNet-5).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, len(table), H - k + 1, W - k + 1)

    Examples:
        >>> c3 = PartialConv2d(6, C3_TABLE, 5)
        >>> sum(p.numel() for p in c3.parameters()), c3(torch.randn(1, 6, 14, 14)).shape
        (1516, torch.Size([1, 16, 10, 10]))
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int = 5):
        super().__init__()
        if not table or any(not row for row in table):
            raise ValueError("table must list at least one input map for every output map")
        if any(not 0 <= i < in_channels for row in table for i in row) or any(len(set(r)) != len(r) for r in table):
            raise ValueError(f"table entries must be distinct input-map indices in [0, {in_channels})")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        # flat position (j * C_in + i) of every connected (output j, input i) pair, in table order
        index = torch.tensor([j * in_channels + i for j, row in enumerate(table) for i in row], dtype=torch.long)
        mask = torch.zeros(self.out_channels, in_channels, dtype=torch.bool)
        mask.view(-1)[index] = True
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("mask", mask, persistent=False)  # (C_out, C_in), the table as a matrix
        self.weight = nn.Parameter(torch.empty(len(index), kernel_size, kernel_size))  # (connections, k, k)
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        # PyTorch's default conv init, with each output map's true fan-in |table[j]| * k * k (plain Python, so
        # that the module also builds on the meta device)
        bounds = [1.0 / math.sqrt(len(row) * kernel_size * kernel_size) for row in table]
        w_bound = torch.tensor([b for b, row in zip(bounds, table) for _ in row]).view(-1, 1, 1)
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0).mul_(w_bound)
            self.bias.uniform_(-1.0, 1.0).mul_(torch.tensor(bounds))

    def dense_weight(self) -> torch.Tensor:
        """The (C_out, C_in, k, k) kernel with zeros where Table I has no connection."""
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        dense = dense.index_copy(0, self.index, self.weight)
        return dense.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)


class EuclideanRBF(nn.Module):
    """Output layer of Euclidean radial basis function units (Sec. II.B).

    Unit i computes y_i = sum_j (x_j - w_ij)^2, the squared distance of F6's state to its parameter
    vector; the paper sets the components of these vectors to -1 or +1 and does not train them, so they
    are a buffer here (``centers``). The layer returns **-y** so that its output is a logit: the largest
    is the nearest class, and cross-entropy on -y is the discriminative criterion of Sec. II.C without
    its constant "rubbish class" term.

    Args:
        in_features: size of F6 (84).
        num_classes: number of RBF units.
        seed: seed of the fixed +/-1 codes.

    Shape:
        - Input: (N, in_features)
        - Output: (N, num_classes), -||x - w_i||^2

    Examples:
        >>> EuclideanRBF(84, 10)(torch.zeros(2, 84)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_features: int = 84, num_classes: int = 10, seed: int = 0):
        super().__init__()
        # Deviation: the paper draws each class's code as a stylised 7x12 bitmap of its character (Fig. 3);
        # here the +/-1 codes are pseudo-random with a fixed seed (same codes on every build).
        gen = torch.Generator().manual_seed(seed)
        codes = torch.randint(0, 2, (num_classes, in_features), generator=gen, device="cpu").float() * 2 - 1
        self.register_buffer("centers", codes.to(torch.empty(0).device))  # (K, 84), fixed, not trained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = x.unsqueeze(1) - self.centers.to(x.dtype)  # (N, K, 84)
        return -diff.square().sum(-1)  # (N, K): minus the RBF outputs y_i


class LeNet5(nn.Module):
    """LeNet-5 (Sec. II.B, Fig. 2).

    ``INPUT 32x32 -> C1 6@28x28 -> S2 6@14x14 -> C3 16@10x10 -> S4 16@5x5 -> C5 120 -> F6 84 -> OUTPUT``.
    With the defaults every trainable layer is the paper's: 156 + 12 + 1,516 + 32 + 48,120 + 10,164 =
    60,000 trainable parameters (the RBF codes are fixed).

    Args:
        num_classes: number of output units (10 digits in the paper).
        in_chans: input channels (1: grey-level images).
        c3_table: use Table I's partial S2->C3 connections (False: every C3 map sees all six S2 maps).
        subsampling: ``"trainable"`` (the paper's S2/S4: sum x coefficient + bias), ``"max"`` or ``"avg"``
            (parameter-free 2x2 pooling).
        activation: ``"scaled_tanh"`` (the paper's 1.7159 tanh(2a/3)) or ``"relu"``.
        output: ``"rbf"`` (the paper's Euclidean RBF units with fixed +/-1 codes, returning -distance) or
            ``"linear"`` (a trainable fully connected layer, as in most modern reimplementations).
        modern: shorthand for ``c3_table=False, subsampling="max", activation="relu", output="linear"``
            (the usual modern LeNet-5, not the paper's).

    Shape:
        - Input: (N, in_chans, 32, 32)
        - Output: (N, num_classes) logits

    Examples:
        >>> model = LeNet5()
        >>> sum(p.numel() for p in model.parameters())
        60000
        >>> model(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, in_chans: int = 1, *, c3_table: bool = True,
                 subsampling: str = "trainable", activation: str = "scaled_tanh", output: str = "rbf",
                 modern: bool = False):
        super().__init__()
        if modern:
            c3_table, subsampling, activation, output = False, "max", "relu", "linear"
        if num_classes < 1 or in_chans < 1:
            raise ValueError(f"num_classes and in_chans must be positive, got {num_classes} and {in_chans}")
        if subsampling not in ("trainable", "max", "avg"):
            raise ValueError(f"subsampling must be 'trainable', 'max' or 'avg', got {subsampling!r}")
        if activation not in ("scaled_tanh", "relu"):
            raise ValueError(f"activation must be 'scaled_tanh' or 'relu', got {activation!r}")
        if output not in ("rbf", "linear"):
            raise ValueError(f"output must be 'rbf' or 'linear', got {output!r}")
        self.num_classes, self.in_chans = num_classes, in_chans
        act = ScaledTanh if activation == "scaled_tanh" else nn.ReLU

        def pool(channels: int) -> nn.Module:
            if subsampling == "trainable":
                return Subsampling(channels)  # Sec. II.B: 2 trainable parameters per map
            # Deviation (modern): parameter-free pooling instead of the trainable subsampling
            return nn.MaxPool2d(2) if subsampling == "max" else nn.AvgPool2d(2)

        self.c1 = nn.Conv2d(in_chans, 6, 5)  # C1: 6@28x28, 5x5 kernels, 156 parameters at in_chans=1
        self.act1 = act()
        self.s2 = pool(6)  # S2: 6@14x14, 12 parameters
        self.act2 = act()  # Sec. II.B: the S2 result "is passed through a sigmoidal function"
        # C3: 16@10x10; Table I's partial connections give 1,516 parameters, a full 6->16 conv 2,416.
        self.c3 = PartialConv2d(6, C3_TABLE, 5) if c3_table else nn.Conv2d(6, 16, 5)
        self.act3 = act()
        self.s4 = pool(16)  # S4: 16@5x5, 32 parameters
        self.act4 = act()
        self.c5 = nn.Conv2d(16, 120, 5)  # C5: 120@1x1 at 32x32 input, 48,120 parameters
        self.act5 = act()
        self.f6 = nn.Linear(120, 84)  # F6: 84 units (a 7x12 bitmap, Sec. II.B), 10,164 parameters
        self.act6 = act()
        # OUTPUT: Euclidean RBF units (fixed codes, no trainable parameter) or a linear layer (850 at K=10)
        self.output = EuclideanRBF(84, num_classes) if output == "rbf" else nn.Linear(84, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """C1 ... C5: the (N, 120, H/4 - 7, W/4 - 7) C5 map (1x1 at 32x32). Any H, W >= 32 with H, W = 0 mod 4."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if x.shape[-1] < 32 or x.shape[-2] < 32 or x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"LeNet-5 needs H, W >= 32 and divisible by 4, got {tuple(x.shape[-2:])}")
        x = self.act2(self.s2(self.act1(self.c1(x))))  # (N, 6, 14, 14)
        x = self.act4(self.s4(self.act3(self.c3(x))))  # (N, 16, 5, 5)
        return self.act5(self.c5(x))  # (N, 120, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4 and (x.shape[-2] != 32 or x.shape[-1] != 32):
            # Sec. II.B: C5 is 1x1 only on 32x32 inputs; larger inputs give a map of C5 vectors (the
            # replicated network of Sec. VII), which forward_features returns.
            raise ValueError(f"LeNet5.forward takes 32x32 inputs (Sec. II.B), got {tuple(x.shape[-2:])}; "
                             "use forward_features for the C5 map of a larger image")
        x = self.forward_features(x).flatten(1)  # (N, 120)
        return self.output(self.act6(self.f6(x)))  # (N, num_classes)


def connection_counts(table: tuple[tuple[int, ...], ...] = C3_TABLE) -> list[int]:
    """Number of S2 maps feeding each C3 map (Table I): [3]*6 + [4]*9 + [6]."""
    return [len(row) for row in table]


def squash_gain() -> float:
    """f(1) for the paper's squashing function: with A = 1.7159 and S = 2/3, f(1) = 1.000 (and f(-1) = -1)."""
    return SQUASH_A * math.tanh(SQUASH_S)
