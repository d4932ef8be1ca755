"""Multi-spectral channel attention (Qin, Zhang, Wu, Li: "FcaNet: Frequency Channel Attention Networks",
ICCV 2021, arXiv:2012.11879)."""

import math

import torch
from torch import nn
from torch.nn import functional as F

# Frequency indices (u, v) in a 7 x 7 DCT space, ranked by the single-frequency ablation of the paper
# ("two-step" selection), exactly as listed in the authors' model/layer.py (get_freq_indices).
_FREQ_TABLES = {
    "top": ([0, 0, 6, 0, 0, 1, 1, 4, 5, 1, 3, 0, 0, 0, 3, 2, 4, 6, 3, 5, 5, 2, 6, 5, 5, 3, 3, 4, 2, 2, 6, 1],
            [0, 1, 0, 5, 2, 0, 2, 0, 0, 6, 0, 4, 6, 3, 5, 2, 6, 3, 3, 3, 5, 1, 1, 2, 4, 2, 1, 1, 3, 0, 5, 3]),
    "low": ([0, 0, 1, 1, 0, 2, 2, 1, 2, 0, 3, 4, 0, 1, 3, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4],
            [0, 1, 0, 1, 2, 0, 1, 2, 2, 3, 0, 0, 4, 3, 1, 5, 4, 3, 2, 1, 0, 6, 5, 4, 3, 2, 1, 0, 6, 5, 4, 3]),
    "bot": ([6, 1, 3, 3, 2, 4, 1, 2, 4, 4, 5, 1, 4, 6, 2, 5, 6, 1, 6, 2, 2, 4, 3, 3, 5, 5, 6, 2, 5, 5, 3, 6],
            [6, 4, 4, 6, 6, 3, 1, 4, 4, 5, 6, 5, 2, 2, 5, 1, 4, 3, 5, 0, 3, 1, 1, 2, 4, 2, 1, 1, 5, 3, 3, 3]),
}


def frequency_indices(method: str = "top16") -> list[tuple[int, int]]:
    """The (u, v) DCT frequencies, in a 7 x 7 frequency space, of a selection method.

    Args:
        method: "top", "low" or "bot" followed by the number of frequencies (1, 2, 4, 8, 16 or 32); "top16"
            is the paper's choice (the 16 best single frequencies of its ablation).

    Returns:
        A list of (u, v) pairs, u along H and v along W.

    Examples:
        >>> frequency_indices("top4")
        [(0, 0), (0, 1), (6, 0), (0, 5)]
    """
    kind, num = method[:3], method[3:]
    if kind not in _FREQ_TABLES or num not in {"1", "2", "4", "8", "16", "32"}:
        raise ValueError(f"freq_sel must be top|low|bot followed by 1, 2, 4, 8, 16 or 32, got {method!r}")
    us, vs = _FREQ_TABLES[kind]
    return list(zip(us[: int(num)], vs[: int(num)]))


def dct_filters(height: int, width: int, freqs: list[tuple[int, int]], channels: int) -> torch.Tensor:
    """The fixed 2-D DCT basis images, one per channel: channel group k uses frequency freqs[k].

    B_{u,v}(i, j) = c_u c_v cos(pi u (i + 1/2) / H) cos(pi v (j + 1/2) / W), with the orthonormal
    DCT-II scaling c_0 = 1/sqrt(H), c_u = sqrt(2/H) (as in the authors' build_filter), so the (0, 0) basis
    is the constant 1/sqrt(HW).

    Args:
        height: DCT height H.
        width: DCT width W.
        freqs: the n frequencies (u, v); channels is split into n equal groups.
        channels: number of channels C (a multiple of n).

    Returns:
        Tensor (C, H, W) of basis images.
    """
    def basis_1d(freq: torch.Tensor, size: int) -> torch.Tensor:  # (n, size)
        pos = torch.arange(size, dtype=torch.float64)
        b = torch.cos(math.pi * freq[:, None] * (pos[None, :] + 0.5) / size) / math.sqrt(size)
        return torch.where(freq[:, None] == 0, b, b * math.sqrt(2.0))

    u = torch.tensor([f[0] for f in freqs], dtype=torch.float64)
    v = torch.tensor([f[1] for f in freqs], dtype=torch.float64)
    per_freq = basis_1d(u, height)[:, :, None] * basis_1d(v, width)[:, None, :]  # (n, H, W)
    return per_freq.repeat_interleave(channels // len(freqs), dim=0).float()  # (C, H, W), grouped by frequency


class FcaLayer(nn.Module):
    """Multi-spectral channel attention: SE whose squeeze is a set of 2-D DCT frequencies instead of GAP.

    The channels are split into n groups; group k is compressed by the 2-D DCT component at frequency
    (u_k, v_k): Freq^k = sum_{i,j} X^k(i, j) B_{u_k, v_k}(i, j). GAP is the (0, 0) component up to a constant,
    so SE is the special case n = 1 with the lowest frequency. The concatenated components go through SE's
    excitation, sigmoid(W2 relu(W1 Freq)), and rescale X channel-wise. The DCT basis is a fixed buffer, so
    the parameters and multiply-adds are SE's.

    The DCT is taken on a dct_size map: inputs of another size are first adaptively average-pooled to it
    (as in the authors' MultiSpectralAttentionLayer), so the layer runs at any H x W.

    Args:
        channels: number of input channels C (a multiple of the number of frequencies).
        reduction: SE reduction ratio r of the excitation (16 in the paper).
        dct_size: (H, W) or an int, multiples of 7, of the DCT; the authors use the stage's feature size
            (56, 28, 14, 7 in an ImageNet ResNet), default 7.
        freq_sel: frequency selection, e.g. "top16" (the paper's), "low16", "bot16", "top1".

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> fca = FcaLayer(256)
        >>> fca(torch.randn(2, 256, 9, 11)).shape, sum(p.numel() for p in fca.parameters())
        (torch.Size([2, 256, 9, 11]), 8192)
    """

    def __init__(self, channels: int, reduction: int = 16, dct_size: int | tuple[int, int] = 7,
                 freq_sel: str = "top16"):
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be positive, got {channels} and {reduction}")
        freqs = frequency_indices(freq_sel)
        if channels % len(freqs):
            raise ValueError(f"channels ({channels}) must be a multiple of the number of frequencies ({len(freqs)})")
        if channels // reduction < 1:
            raise ValueError(f"channels // reduction must be >= 1, got {channels} // {reduction}")
        dh, dw = (dct_size, dct_size) if isinstance(dct_size, int) else tuple(dct_size)
        if dh < 7 or dw < 7 or dh % 7 or dw % 7:
            raise ValueError(f"dct_size must be multiples of 7 (the frequencies live in a 7 x 7 space), got {dct_size}")
        self.channels = channels
        self.dct_size = (dh, dw)
        # Same frequency in a larger DCT: (u, v) in 7 x 7 is (u * dh/7, v * dw/7) (authors' MultiSpectralAttentionLayer)
        self.freqs = [(u * (dh // 7), v * (dw // 7)) for u, v in freqs]
        self.register_buffer("dct_weight", dct_filters(dh, dw, self.freqs, channels))  # fixed, not learned: (C, dh, dw)
        hidden = channels // reduction
        self.fc1 = nn.Linear(channels, hidden, bias=False)  # W1 of SE's excitation (bias-free, authors' code)
        self.fc2 = nn.Linear(hidden, channels, bias=False)  # W2

    def compress(self, x: torch.Tensor) -> torch.Tensor:
        """The multi-spectral descriptor: each channel's DCT component at its group's frequency.

        Args:
            x: feature map (N, C, H, W); pooled adaptively to dct_size when H x W differs.

        Returns:
            Tensor (N, C).
        """
        if tuple(x.shape[2:]) != self.dct_size:
            x = F.adaptive_avg_pool2d(x, self.dct_size)  # (N, C, dh, dw), authors' layer does the same
        return (x * self.dct_weight.to(x.dtype)).sum(dim=(2, 3))  # Freq = sum_{i,j} X(i, j) B(i, j): (N, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        y = self.compress(x)  # multi-spectral compression: (N, C)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(y))))  # SE excitation: (N, C)
        return x * s[:, :, None, None]  # (N, C, H, W)
