"""Global Context block (Cao, Xu, Lin, Wei, Hu: "GCNet: Non-local Networks Meet Squeeze-Excitation Networks
and Beyond", ICCV Workshops 2019, arXiv:1904.11492)."""

from __future__ import annotations

import torch
from torch import nn

POOLS = ("att", "avg")
FUSIONS = ("add", "mul")


class GCBlock(nn.Module):
    """Global context block: one query-independent attention pooling, a bottleneck transform, an addition.

    The paper's three-step global context framework (Fig. 3), instantiated as the GC block (Fig. 4(d)):

    1. context modeling: a 1x1 conv W_k maps x to one logit per position, a softmax over all H x W
       positions turns them into weights alpha_j, and the context is sum_j alpha_j x_j, one C-vector per
       image, the same for every query position (the simplified non-local block);
    2. transform: a bottleneck W_v2 ReLU(LN(W_v1 .)) with W_v1 in R^{C/r x C}, W_v2 in R^{C x C/r} and a
       LayerNorm over the C/r channels;
    3. fusion: broadcast addition to every position, z_i = x_i + transform(context).

    ``pool="avg"`` (global average pooling) and ``fusion="mul"`` (sigmoid scaling, as in SE) are the
    alternatives the paper ablates; the defaults are the GC block.

    Args:
        channels: number of input channels C.
        reduction: bottleneck ratio r (16 by default; the authors' COCO configs use r = 16 and r = 4).
        pool: ``"att"`` (softmax attention pooling, the GC block) or ``"avg"`` (average pooling).
        fusion: ``"add"`` (broadcast addition, the GC block) or ``"mul"`` (sigmoid channel scaling).
        min_hidden: lower bound on the hidden width C // r, so that narrow layers keep a transform.
        zero_init: zero the last 1x1 conv of the transform, as the authors' code does
            (``last_zero_init``), so that with ``fusion="add"`` the block starts as the identity.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> gc = GCBlock(256)
        >>> x = torch.randn(2, 256, 14, 14)
        >>> gc(x).shape
        torch.Size([2, 256, 14, 14])
        >>> gc.context_modeling(x).shape  # one context vector per image
        torch.Size([2, 256, 1, 1])
    """

    def __init__(self, channels: int, reduction: int = 16, pool: str = "att", fusion: str = "add",
                 min_hidden: int = 1, zero_init: bool = True):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if reduction <= 0 or min_hidden < 1:
            raise ValueError(f"reduction and min_hidden must be positive, got {reduction} and {min_hidden}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(map(repr, POOLS))}, got {pool!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(map(repr, FUSIONS))}, got {fusion!r}")
        self.channels, self.pool, self.fusion = channels, pool, fusion
        # Deviation: min_hidden keeps at least one hidden channel when C < r (authors: int(C / r)).
        hidden = max(int(channels / reduction), min_hidden)
        self.hidden = hidden
        if pool == "att":
            self.conv_mask = nn.Conv2d(channels, 1, kernel_size=1)  # W_k: C -> 1 logit per position
        # Transform: W_v2 ReLU(LN(W_v1 c)). The convs carry biases, as in the authors' code.
        self.transform = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1),  # W_v1: (N, C/r, 1, 1)
            nn.LayerNorm([hidden, 1, 1]),  # LN over the C/r channels (eases optimisation of the bottleneck)
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1),  # W_v2: (N, C, 1, 1)
        )
        self.reset_parameters(zero_init)

    def reset_parameters(self, zero_init: bool = True) -> None:
        """Authors' code (context_block.py): Kaiming (fan_in) W_k, zero-initialised last transform conv."""
        if self.pool == "att":
            nn.init.kaiming_normal_(self.conv_mask.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(self.conv_mask.bias)
        if zero_init:
            nn.init.zeros_(self.transform[-1].weight)
            nn.init.zeros_(self.transform[-1].bias)

    def context_modeling(self, x: torch.Tensor) -> torch.Tensor:
        """Step 1, the global context: sum_j softmax_j(W_k x_j) x_j (or the mean). (N, C, H, W) -> (N, C, 1, 1)."""
        n, c = x.shape[:2]
        if self.pool == "avg":
            return x.mean(dim=(2, 3), keepdim=True)  # SE's squeeze
        weights = self.conv_mask(x).flatten(2).softmax(dim=-1)  # alpha_j over all HW positions: (N, 1, HW)
        context = torch.bmm(x.flatten(2), weights.transpose(1, 2))  # sum_j alpha_j x_j: (N, C, 1)
        return context.view(n, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        t = self.transform(self.context_modeling(x))  # step 2: (N, C, 1, 1)
        if self.fusion == "mul":
            return x * torch.sigmoid(t)  # SE-style rescaling (ablation)
        return x + t  # step 3, fusion by broadcast addition: the same vector added at every position
