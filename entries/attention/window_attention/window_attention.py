"""Window multi-head self-attention with relative position bias, W-MSA and SW-MSA (Liu et al.: "Swin Transformer:
Hierarchical Vision Transformer using Shifted Windows", ICCV 2021, arXiv:2103.14030).

Sec. 3.2: self-attention is computed inside non-overlapping M x M windows of the token map (W-MSA), so its cost
is linear in the number of tokens (Eq. 1 vs Eq. 2); successive blocks alternate the regular partition with one
displaced by (floor(M/2), floor(M/2)) (SW-MSA), computed efficiently by a cyclic shift of the map and a mask that
keeps attention inside each sub-window. Each head adds a relative position bias B, read from a table
B_hat of (2M - 1) x (2M - 1) entries, to the logits: softmax(Q K^T / sqrt(d) + B) V (Eq. 4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def relative_position_index(window_size: int, device: torch.device | None = None) -> torch.Tensor:
    """Index into the (2M - 1)^2 bias table for every (query, key) pair of an M x M window (Sec. 3.2).

    The relative offset of a pair along each axis lies in [-M + 1, M - 1]; shifted to [0, 2M - 2] and flattened
    row-major, it picks one of (2M - 1)^2 table rows (the authors' indexing, so their weights load).

    Args:
        window_size: M.
        device: where to build the index.

    Returns:
        (M^2, M^2) int64, entry [i, j] for query i and key j (row-major positions in the window).
    """
    coords = torch.stack(torch.meshgrid(torch.arange(window_size, device=device),
                                        torch.arange(window_size, device=device), indexing="ij")).flatten(1)  # (2, M^2)
    rel = (coords[:, :, None] - coords[:, None, :]) + (window_size - 1)  # (2, M^2, M^2), offsets in [0, 2M - 2]
    return rel[0] * (2 * window_size - 1) + rel[1]  # (M^2, M^2)


class WindowAttention(nn.Module):
    """Swin's (shifted-)window multi-head self-attention on a token sequence laid out as an H x W map.

    The tokens (N, L, D) are read as a row-major H x W map: H = W = sqrt(L) when ``input_resolution`` is not
    given (L must then be a perfect square). The map is zero-padded to multiples of M; padded tokens are never
    attended to and are dropped from the output.

    Args:
        dim: the token width C (D).
        num_heads: the number of heads h; must divide ``dim``. Swin-T's first stage: C = 96, h = 3 (Sec. 3.3).
        window_size: M, the window side in tokens; 7 in the paper (Sec. 3.3).
        shifted: if True, SW-MSA: the windows are displaced by floor(M/2) (Sec. 3.2, cyclic shift + mask). As in the
            authors' code, no shift happens when the whole map fits in one window.
        input_resolution: optional (H, W) of the token map; default: square, inferred from L.
        qkv_bias: add a bias to the query/key/value projection (True in the authors' code).
        dropout: dropout probability on the attention weights during training.

    Shape:
        - Input: (N, L, D) with L = H * W
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> attn = WindowAttention(96, num_heads=3, window_size=7, shifted=True)
        >>> attn(torch.randn(2, 56 * 56, 96)).shape  # a 56 x 56 token map, as Swin-T's first stage
        torch.Size([2, 3136, 96])
    """

    def __init__(self, dim: int, num_heads: int = 3, window_size: int = 7, shifted: bool = False,
                 input_resolution: tuple[int, int] | None = None, qkv_bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1 or window_size < 1:
            raise ValueError(f"dim, num_heads and window_size must be positive, got {dim}, {num_heads}, {window_size}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        if input_resolution is not None and (len(input_resolution) != 2 or min(input_resolution) < 1):
            raise ValueError(f"input_resolution must be (H, W) with positive sides, got {input_resolution}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.window_size = window_size
        self.shifted = shifted
        self.shift_size = window_size // 2 if shifted else 0  # Sec. 3.2: displaced by (floor(M/2), floor(M/2))
        self.input_resolution = tuple(input_resolution) if input_resolution is not None else None
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)  # Q, K, V of all heads: C -> 3C
        self.proj = nn.Linear(dim, dim)  # output projection (with bias, as the authors')
        # Sec. 3.2: the bias B in R^{M^2 x M^2} takes its values from B_hat in R^{(2M-1) x (2M-1)}, one per head.
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))  # (M^2, M^2)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)  # authors' code: trunc_normal, std 0.02

    def relative_position_bias(self) -> torch.Tensor:
        """B of Eq. 4 for every head: (h, M^2, M^2)."""
        m2 = self.window_size ** 2
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]  # (M^4, h)
        return bias.view(m2, m2, self.num_heads).permute(2, 0, 1)  # (h, M^2, M^2)

    def _resolution(self, length: int) -> tuple[int, int]:
        if self.input_resolution is not None:
            h, w = self.input_resolution
            if h * w != length:
                raise ValueError(f"input_resolution {self.input_resolution} has {h * w} tokens, the input has {length}")
            return h, w
        side = math.isqrt(length)
        if side * side != length:
            raise ValueError(f"L = {length} is not a perfect square: pass input_resolution=(H, W) for a non-square map")
        return side, side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(S)W-MSA over the token map.

        Args:
            x: tokens, (N, L, D), a row-major H x W map.

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, c = x.shape
        h, w = self._resolution(length)
        m = self.window_size
        shift = self.shift_size if max(h, w) > m else 0  # authors' code: no shift when one window covers the map
        ph, pw = (-h) % m, (-w) % m
        hp, wp = h + ph, w + pw
        grid = x.view(n, h, w, c)
        if ph or pw:
            # Deviation from the classification code (which needs H, W divisible by M): pad to multiples of M,
            # as the authors' detection/segmentation code does; padded keys are masked out below.
            grid = F.pad(grid, (0, 0, 0, pw, 0, ph))  # (N, Hp, Wp, C)
        if shift:
            grid = torch.roll(grid, shifts=(-shift, -shift), dims=(1, 2))  # Sec. 3.2: cyclic shift to the top-left
        nh, nw = hp // m, wp // m
        windows = _partition(grid, m)  # (N * nW, M^2, C), nW = (Hp / M) (Wp / M)
        b = windows.shape[0]
        qkv = self.qkv(windows).view(b, m * m, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (N * nW, h, M^2, d)
        mask = self.relative_position_bias().unsqueeze(0).to(q.dtype)  # Eq. 4: + B, (1, h, M^2, M^2)
        if shift or ph or pw:
            allowed = self._allowed_pairs(h, w, hp, wp, shift, x.device)  # (nW, M^2, M^2)
            blocked = torch.zeros(allowed.shape, dtype=q.dtype, device=x.device).masked_fill(~allowed, float("-inf"))
            mask = (mask + blocked[:, None]).unsqueeze(0).expand(n, -1, -1, -1, -1).reshape(b, self.num_heads, m * m,
                                                                                          m * m)
        # Eq. 4 in every window and head: softmax(Q K^T / sqrt(d) + B [+ mask]) V, (N * nW, h, M^2, d).
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        out = self.proj(out.transpose(1, 2).reshape(b, m * m, c))  # concat heads, project: (N * nW, M^2, C)
        grid = out.view(n, nh, nw, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(n, hp, wp, c)  # merge windows
        if shift:
            grid = torch.roll(grid, shifts=(shift, shift), dims=(1, 2))  # reverse cyclic shift
        return grid[:, :h, :w].reshape(n, length, c)

    def _allowed_pairs(self, h: int, w: int, hp: int, wp: int, shift: int, device: torch.device) -> torch.Tensor:
        """Which (query, key) pairs of each batched window may attend: same sub-window, key not padding.

        Sec. 3.2: after the cyclic shift a batched window can hold up to four sub-windows that are not adjacent in
        the map; labelling the three row bands [0, Hp - M), [Hp - M, Hp - s), [Hp - s, Hp) (and the same for
        columns) of the shifted map and attending only between equal labels keeps attention inside each one.
        A padded query may attend freely (its output is dropped), so no row is all masked.
        """
        m = self.window_size
        rows, cols = torch.arange(hp, device=device), torch.arange(wp, device=device)
        if shift:
            band_r = (rows >= hp - m).long() + (rows >= hp - shift).long()  # (Hp,) in {0, 1, 2}
            band_c = (cols >= wp - m).long() + (cols >= wp - shift).long()  # (Wp,)
        else:
            band_r, band_c = torch.zeros_like(rows), torch.zeros_like(cols)
        region = (band_r[:, None] * 3 + band_c[None, :])  # (Hp, Wp), labels in the shifted frame
        real = (rows < h)[:, None] & (cols < w)[None, :]  # (Hp, Wp), in the unshifted frame
        if shift:
            real = torch.roll(real, shifts=(-shift, -shift), dims=(0, 1))  # into the shifted frame
        region = _partition(region[None, :, :, None], m)[..., 0]  # (nW, M^2)
        real = _partition(real[None, :, :, None], m)[..., 0]  # (nW, M^2)
        same = region[:, :, None] == region[:, None, :]  # (nW, M^2 queries, M^2 keys)
        return same & (real[:, None, :] | ~real[:, :, None])

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, num_heads={self.num_heads}, window_size={self.window_size}, "
                f"shift_size={self.shift_size}, input_resolution={self.input_resolution}")


def _partition(grid: torch.Tensor, m: int) -> torch.Tensor:
    """(N, Hp, Wp, C) -> (N * nW, M^2, C): non-overlapping M x M windows, row-major within and across windows."""
    n, hp, wp, c = grid.shape
    return grid.view(n, hp // m, m, wp // m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, m * m, c)
