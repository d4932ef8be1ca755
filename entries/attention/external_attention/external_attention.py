"""External Attention (Guo, Liu, Mu, Hu: "Beyond Self-attention: External Attention using Two Linear Layers for
Visual Tasks", TPAMI 2022, arXiv:2105.02358)."""

from __future__ import annotations

import math

import torch
from torch import nn


class ExternalAttention(nn.Module):
    """External attention over the H x W positions with two small learnable memories, in the EANet block.

    Self-attention scores every position against every other (O((HW)^2)); external attention scores every
    position against S learnable memory slots M_k in R^{S x C}, shared by the whole data set, and reads the
    output from a second memory M_v in R^{S x C} (Sec. 3.2, Eqs. 3-4):

        A = Norm(F M_k^T)  (HW x S),   F_out = A M_v  (HW x C)

    with the double normalization of Eq. 5: a softmax over the positions (for each memory slot), then an l1
    normalization over the S slots (for each position). Cost O(C S HW): linear in the number of pixels.

    The block is the authors' image block (``External_attention`` in ``model_torch.py``): a 1x1 conv in,
    the two memories as bias-free linear layers, a 1x1 conv + BatchNorm out, a residual connection and a
    ReLU. ``residual=False`` returns the bare conv-EA-conv-BN branch.

    Args:
        channels: number of input channels C.
        memory_size: number of memory slots S (64 in the authors' code).
        residual: add the input and apply a ReLU, as the authors' block does.
        eps: the l1 normalization's epsilon (1e-9 in the authors' code).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> ea = ExternalAttention(64)
        >>> ea(torch.randn(2, 64, 16, 16)).shape
        torch.Size([2, 64, 16, 16])
        >>> ea.attention_map(torch.randn(2, 64, 16, 16)).shape  # (N, S, HW)
        torch.Size([2, 64, 256])
    """

    def __init__(self, channels: int, memory_size: int = 64, residual: bool = True, eps: float = 1e-9):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(memory_size, int) or memory_size < 1:
            raise ValueError(f"memory_size must be a positive integer, got {memory_size!r}")
        if eps < 0:
            raise ValueError(f"eps must be non-negative, got {eps}")
        self.channels, self.memory_size, self.residual, self.eps = channels, memory_size, residual, eps
        self.conv_in = nn.Conv2d(channels, channels, kernel_size=1)  # authors' conv1 (with bias)
        self.mk = nn.Conv1d(channels, memory_size, kernel_size=1, bias=False)  # M_k: C -> S (linear_0)
        self.mv = nn.Conv1d(memory_size, channels, kernel_size=1, bias=False)  # M_v: S -> C (linear_1)
        # Authors' conv2: 1x1 conv + SynchronizedBatchNorm2d; deviation: plain BatchNorm2d (single-device stats).
        self.conv_out = nn.Sequential(nn.Conv2d(channels, channels, kernel_size=1, bias=False), nn.BatchNorm2d(channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Authors' init: N(0, sqrt(2 / (k^2 out))) for the convs, M_v = M_k^T at the start, BN weight 1 bias 0."""
        for conv in (self.conv_in, self.conv_out[0]):
            nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / conv.out_channels))
        # The authors' code makes linear_1.weight a transposed *view* of linear_0.weight and then re-draws it
        # with std sqrt(2 / C), so both memories start as the same matrix. Deviation: a copy, not shared storage.
        nn.init.normal_(self.mv.weight, 0.0, math.sqrt(2.0 / self.channels))
        with torch.no_grad():
            self.mk.weight.copy_(self.mv.weight.permute(1, 0, 2))
        nn.init.ones_(self.conv_out[1].weight)
        nn.init.zeros_(self.conv_out[1].bias)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The doubly normalized attention A of Eq. 5 for the block's input: (N, C, H, W) -> (N, S, HW)."""
        f = self.conv_in(x).flatten(2)  # F as tokens: (N, C, HW)
        return self._double_norm(self.mk(f))

    def _double_norm(self, logits: torch.Tensor) -> torch.Tensor:
        attn = torch.softmax(logits, dim=-1)  # Eq. 5: softmax over the HW positions, per memory slot
        return attn / (self.eps + attn.sum(dim=1, keepdim=True))  # Eq. 5: l1 over the S slots, per position

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        f = self.conv_in(x).flatten(2)  # (N, C, HW)
        attn = self._double_norm(self.mk(f))  # A = Norm(F M_k^T): (N, S, HW)
        out = self.mv(attn).reshape(x.shape)  # F_out = A M_v: (N, C, HW) -> (N, C, H, W)
        out = self.conv_out(out)  # 1x1 conv + BN
        if not self.residual:
            return out
        return torch.relu(out + x)  # authors' block: residual connection, then ReLU
