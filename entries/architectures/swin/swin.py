"""Swin Transformer (Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo: "Swin Transformer: Hierarchical Vision Transformer
using Shifted Windows", ICCV 2021, arXiv:2103.14030).

State-dict compatible with torchvision's ``torchvision.models.swin_transformer`` (v1: ``features.N.M.{norm1,
attn.{relative_position_bias_table, relative_position_index, qkv, proj}, norm2, mlp.0, mlp.3}``, patch merging
``features.{2,4,6}.{reduction, norm}``, ``norm``, ``head``), so its checkpoints load with ``strict=True``.
Self-contained: the shifted-window attention is implemented here (the ``window_attention`` entry describes it
on its own).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Permute(nn.Module):
    """Permutes the dimensions (torchvision's ``ops.misc.Permute``, no parameters)."""

    def __init__(self, dims: Sequence[int]):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


def relative_position_index(window: int) -> torch.Tensor:
    """Index into the (2M-1)^2 bias table for every (query, key) pair of an M x M window (Sec. 3.2).

    Relative offsets along each axis lie in [-M+1, M-1]; shifted to [0, 2M-2] they address the row-major
    table B^ of shape ((2M-1), (2M-1)).

    Returns:
        (M^2 * M^2,) int64, flattened (torchvision's buffer layout)
    """
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)  # (M^2, M^2, 2) in [0, 2M-2]
    return (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten()


def shift_attention_mask(height: int, width: int, window: int, shift_h: int, shift_w: int,
                         device: torch.device) -> torch.Tensor:
    """The additive mask of SW-MSA after the cyclic shift (Sec. 3.2, Fig. 4), for a padded (H, W) map.

    After rolling the map by (-s_h, -s_w), a window at the bottom/right border holds pixels from up to
    4 regions that were not adjacent in the original map; attention between different regions is masked with
    -100 (the authors' value), within a region it is 0. Regions: [0, H-M), [H-M, H-s), [H-s, H) per axis (an
    unshifted axis, s = 0, only splits at a window border, which no window straddles).

    Returns:
        (num_windows, M^2, M^2) with 0 or -100
    """
    def region(n: int, shift: int) -> torch.Tensor:
        i = torch.arange(n, device=device)
        return (i >= n - window).long() + (i >= n - shift).long()  # 0, 1 or 2

    label = region(height, shift_h)[:, None] * 3 + region(width, shift_w)[None, :]  # (H, W) region id 0..8
    label = label.view(height // window, window, width // window, window).permute(0, 2, 1, 3).reshape(-1, window * window)
    different = label[:, None, :] != label[:, :, None]  # (nW, M^2, M^2)
    return different.float() * -100.0


class ShiftedWindowAttention(nn.Module):
    """Window multi-head self-attention with relative position bias, regular (W-MSA) or shifted (SW-MSA).

    Sec. 3.2: attention is computed inside non-overlapping M x M windows,
    ``Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B) V`` (Eq. 4) with B taken from a learned table
    B^ in R^{(2M-1) x (2M-1)} per head. In a shifted block the map is first rolled by (-M/2, -M/2) ("cyclic
    shift", Fig. 4) and cross-region attention is masked, so the number of windows stays the same.

    Args:
        dim: channels C.
        window_size: M.
        shift_size: 0 (W-MSA) or M // 2 (SW-MSA).
        num_heads: attention heads (C / 32 in the paper: d = 32 per head, Sec. 3.3).
        attention_dropout: dropout on the attention weights.
        dropout: dropout on the output projection.

    Shape:
        - Input: (N, H, W, C), channels last
        - Output: (N, H, W, C)
    """

    def __init__(self, dim: int, window_size: int, shift_size: int, num_heads: int, attention_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        if not 0 <= shift_size < window_size:
            raise ValueError(f"shift_size must be in [0, window_size), got {shift_size} for window {window_size}")
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, num_heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        # B^ of Sec. 3.2: one (2M-1)^2 table per head, truncated-normal(0.02) as in the authors' code.
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window_size))

    def relative_position_bias(self) -> torch.Tensor:
        """B for every (query, key) pair of a window: (1, heads, M^2, M^2)."""
        n = self.window_size ** 2
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, self.num_heads)
        return bias.permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        m = self.window_size
        # Pad the map to a multiple of M (bottom/right), as torchvision does; the paper's sizes need none.
        pad_b, pad_r = (m - h % m) % m, (m - w % m) % m
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        ph, pw = h + pad_b, w + pad_r
        # No shift when one window covers the (padded) map: there is nothing to connect across windows.
        shift = self.shift_size if (m < ph or m < pw) else 0
        shift_h, shift_w = (shift if m < ph else 0), (shift if m < pw else 0)
        if shift_h or shift_w:
            x = torch.roll(x, shifts=(-shift_h, -shift_w), dims=(1, 2))  # cyclic shift toward top-left (Fig. 4)
        nh, nw = ph // m, pw // m
        x = x.view(b, nh, m, nw, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nh * nw, m * m, c)  # (B nW, M^2, C)

        d = c // self.num_heads
        qkv = self.qkv(x).reshape(x.shape[0], m * m, 3, self.num_heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * d ** -0.5, qkv[1], qkv[2]  # (B nW, heads, M^2, d)
        attn = q @ k.transpose(-2, -1) + self.relative_position_bias()  # Eq. 4: QK^T / sqrt(d) + B
        if shift_h or shift_w:
            mask = shift_attention_mask(ph, pw, m, shift_h, shift_w, x.device)  # (nW, M^2, M^2)
            attn = attn.view(b, nh * nw, self.num_heads, m * m, m * m) + mask.to(attn.dtype)[None, :, None]
            attn = attn.view(-1, self.num_heads, m * m, m * m)
        attn = F.dropout(attn.softmax(dim=-1), p=self.attention_dropout, training=self.training)
        x = (attn @ v).transpose(1, 2).reshape(x.shape[0], m * m, c)
        x = F.dropout(self.proj(x), p=self.dropout, training=self.training)

        x = x.view(b, nh, nw, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)  # reverse the partition
        if shift_h or shift_w:
            x = torch.roll(x, shifts=(shift_h, shift_w), dims=(1, 2))  # reverse cyclic shift
        return x[:, :h, :w, :]


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth per sample: drops the residual branch with probability p, rescales kept ones."""
    if not training or p == 0.0:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p)


class SwinTransformerBlock(nn.Module):
    """One Swin Transformer block (Fig. 3b, Eq. 3): LN -> (S)W-MSA -> residual, LN -> MLP -> residual.

    Shape:
        - Input: (N, H, W, C)
        - Output: (N, H, W, C)
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, shift_size: int, mlp_ratio: float = 4.0,
                 dropout: float = 0.0, attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)  # eps 1e-5, as the authors' code and torchvision v1
        self.attn = ShiftedWindowAttention(dim, window_size, shift_size, num_heads, attention_dropout, dropout)
        self.stochastic_depth_prob = stochastic_depth_prob
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)  # Sec. 3.3: expansion alpha = 4
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim),
                                 nn.Dropout(dropout))  # Sec. 3.1: 2-layer MLP with GELU
        for lin in (self.mlp[0], self.mlp[3]):  # torchvision's initialisation of the MLP
            nn.init.xavier_uniform_(lin.weight)
            nn.init.normal_(lin.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + drop_path(self.attn(self.norm1(x)), self.stochastic_depth_prob, self.training)  # Eq. 3, lines 1/3
        return x + drop_path(self.mlp(self.norm2(x)), self.stochastic_depth_prob, self.training)  # lines 2/4


class PatchMerging(nn.Module):
    """Patch merging (Sec. 3.1): concatenate each 2x2 group of neighbours (4C) -> LN -> linear to 2C.

    Shape:
        - Input: (N, H, W, C)
        - Output: (N, ceil(H / 2), ceil(W / 2), 2C) (odd sizes are zero-padded, as in torchvision)
    """

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1], x.shape[2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        # The order (0,0), (1,0), (0,1), (1,1) is the authors' (x0, x1, x2, x3), so checkpoints line up.
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))  # (N, H/2, W/2, 2C)


class SwinTransformer(nn.Module):
    """Swin Transformer image classifier (Sec. 3.1, Fig. 3a, Sec. 3.3), torchvision (v1) layout.

    Patch partition + linear embedding (a 4x4/4 convolution, then LN) -> four stages of Swin blocks that
    alternate W-MSA and SW-MSA (shift M // 2), with patch merging between stages (resolution / 2, channels x 2)
    -> LN -> global average pool -> linear head.

    Sec. 3.3 configurations (M = 7, d = 32 per head, alpha = 4): Swin-T ``embed_dim=96, depths=(2, 2, 6, 2)``;
    Swin-S ``96, (2, 2, 18, 2)``; Swin-B ``128, (2, 2, 18, 2)``; Swin-L ``192, (2, 2, 18, 2)``;
    heads = C / 32 per stage.

    Args:
        num_classes: number of output classes.
        in_chans: number of input channels.
        patch_size: side of the patches of the first stage (4).
        embed_dim: C, channels of the first stage.
        depths: blocks per stage (even: W-MSA and SW-MSA alternate).
        num_heads: heads per stage.
        window_size: M.
        mlp_ratio: MLP expansion alpha.
        dropout: dropout on the attention projection and in the MLP.
        attention_dropout: dropout on the attention weights.
        stochastic_depth_prob: final stochastic depth rate, increasing linearly over the blocks (0 by default:
            inference; the paper trains Swin-T/S/B with 0.2/0.3/0.5).

    Shape:
        - Input: (N, in_chans, H, W), any H, W >= patch_size (maps are padded to multiples of M for the
          windows and to even sizes for patch merging).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = SwinTransformer(num_classes=10, embed_dim=16, depths=(2, 2), num_heads=(1, 2), window_size=4)
        >>> model(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, patch_size: int = 4, embed_dim: int = 96,
                 depths: Sequence[int] = (2, 2, 6, 2), num_heads: Sequence[int] = (3, 6, 12, 24),
                 window_size: int = 7, mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0):
        super().__init__()
        depths, num_heads = list(depths), list(num_heads)
        if len(depths) != len(num_heads) or not depths:
            raise ValueError(f"depths and num_heads must have the same non-zero length, got {depths} and {num_heads}")
        for name, value in (("num_classes", num_classes), ("in_chans", in_chans), ("patch_size", patch_size),
                            ("embed_dim", embed_dim), ("window_size", window_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if any(d < 1 for d in depths) or any(h < 1 for h in num_heads):
            raise ValueError(f"depths and num_heads must be positive, got {depths} and {num_heads}")
        if not 0.0 <= stochastic_depth_prob < 1.0:
            raise ValueError(f"stochastic_depth_prob must be in [0, 1), got {stochastic_depth_prob}")
        self.num_classes, self.in_chans, self.patch_size = num_classes, in_chans, patch_size

        # Sec. 3.1: patch partition (4x4) + linear embedding = a 4x4 / stride-4 convolution; LN as the authors' code.
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size),
                                                 Permute([0, 2, 3, 1]), nn.LayerNorm(embed_dim))]
        total, index = sum(depths), 0
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            dim = embed_dim * 2 ** i  # Sec. 3.1: C, 2C, 4C, 8C
            blocks = []
            for j in range(depth):
                p = stochastic_depth_prob * index / max(total - 1, 1)
                # Sec. 3.2: consecutive blocks alternate regular (shift 0) and shifted (shift M // 2) windows.
                blocks.append(SwinTransformerBlock(dim, heads, window_size, 0 if j % 2 == 0 else window_size // 2,
                                                   mlp_ratio, dropout, attention_dropout, p))
                index += 1
            layers.append(nn.Sequential(*blocks))
            if i + 1 < len(depths):
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes)

        for m in self.modules():  # torchvision: truncated normal (0.02) for every linear layer, zero biases
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's map after the final LN, channels last: (N, ~H/32, ~W/32, num_features)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if x.shape[2] < self.patch_size or x.shape[3] < self.patch_size:
            raise ValueError(f"input {tuple(x.shape[2:])} is smaller than one {self.patch_size}x{self.patch_size} patch")
        return self.norm(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x).mean(dim=(1, 2))  # global average pool -> (N, num_features)
        return self.head(x)  # (N, num_classes)
