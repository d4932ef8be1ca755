"""Nystromformer self-attention (Xiong, Zeng, Chakraborty, Tan, Fung, Li, Singh: "Nystromformer: A
Nystrom-Based Algorithm for Approximating Self-Attention", AAAI 2021, arXiv:2102.03902).

Softmax attention S = softmax(Q K^T / sqrt(d)) is approximated with the Nystrom method on m landmarks
(Sec. 3): S ~ softmax(Q K~^T) (softmax(Q~ K~^T))^+ softmax(Q~ K^T), where the landmarks Q~, K~ are the means of
m segments of the queries and keys, and the Moore-Penrose pseudo-inverse ^+ is computed by an iterative,
matmul-only method (6 iterations). The output S V is then formed right to left, linear in the length L.
The authors' code adds a depthwise convolution of V along the sequence as a skip connection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def segment_means(x: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Landmarks: the means of ``num_segments`` consecutive, nearly equal segments of the sequence (Sec. 3).

    Token i belongs to segment floor(i m / L). When m divides L the segments have L/m tokens each, the
    paper's segment means; otherwise their lengths differ by at most one token (no padding needed).

    Args:
        x: (..., L, d) with L >= num_segments.
        num_segments: m.

    Returns:
        (..., m, d) segment means.
    """
    length = x.shape[-2]
    ids = torch.arange(length, device=x.device) * num_segments // length  # segment of each token, (L,)
    sums = x.new_zeros(*x.shape[:-2], num_segments, x.shape[-1]).index_add(-2, ids, x)  # (..., m, d)
    counts = x.new_zeros(num_segments).index_add(0, ids, x.new_ones(length))  # tokens per segment, (m,)
    return sums / counts[:, None]


def iterative_pinv(a: torch.Tensor, iterations: int = 6) -> torch.Tensor:
    """Moore-Penrose pseudo-inverse of square matrices by the iteration of Sec. 3 (matmuls only).

    Z_0 = A^T / (||A||_1 ||A||_inf), then Z_{j+1} = 1/4 Z_j (13 I - A Z_j (15 I - A Z_j (7 I - A Z_j))),
    which converges to A^+ (third-order); the paper uses 6 iterations.

    Args:
        a: (..., m, m).
        iterations: number of updates.

    Returns:
        (..., m, m) approximation of A^+.

    Examples:
        >>> a = torch.softmax(torch.randn(3, 8, 8, dtype=torch.float64), -1)
        >>> torch.allclose(iterative_pinv(a, 20), torch.linalg.pinv(a), atol=1e-6)
        True
    """
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    norm_1 = a.abs().sum(-2).amax(-1)  # ||A||_1: largest column sum, (...)
    norm_inf = a.abs().sum(-1).amax(-1)  # ||A||_inf: largest row sum (1 for a softmax matrix), (...)
    # Deviation from the authors' code: the scale is computed per matrix (per sample and head), as the formula
    # says; the released code takes the largest column sum over the whole batch.
    z = a.transpose(-2, -1) / (norm_1 * norm_inf)[..., None, None]  # Z_0
    for _ in range(iterations):  # a fixed, small number of steps (no data-dependent control flow)
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return z


def nystrom_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_landmarks: int = 64,
                      pinv_iterations: int = 6) -> torch.Tensor:
    """Nystrom approximation of softmax(Q K^T / sqrt(d)) V for every leading index.

    If L <= num_landmarks, every token is its own landmark and the approximation is exact; exact softmax
    attention is computed then (as the authors' code does when the number of landmarks equals the length).

    Args:
        q: queries (..., L, d).
        k: keys (..., L, d).
        v: values (..., L, d_v).
        num_landmarks: m.
        pinv_iterations: iterations of :func:`iterative_pinv`.

    Returns:
        (..., L, d_v).

    Shape:
        - q, k: (..., L, d); v: (..., L, d_v)
        - Output: (..., L, d_v)

    Examples:
        >>> q, k, v = torch.randn(2, 4, 500, 16), torch.randn(2, 4, 500, 16), torch.randn(2, 4, 500, 16)
        >>> nystrom_attention(q, k, v, num_landmarks=32).shape
        torch.Size([2, 4, 500, 16])
    """
    length = q.shape[-2]
    if length <= num_landmarks:  # static shape check: the landmarks would be the tokens themselves
        return F.scaled_dot_product_attention(q, k, v)
    scale = q.shape[-1] ** -0.25  # Q K^T / sqrt(d) = (Q d^-1/4)(K d^-1/4)^T, as in the authors' code
    q, k = q * scale, k * scale
    q_l, k_l = segment_means(q, num_landmarks), segment_means(k, num_landmarks)  # Q~, K~: (..., m, d)
    kernel_1 = torch.softmax(q @ k_l.transpose(-2, -1), dim=-1)  # F~ = softmax(Q K~^T): (..., L, m)
    kernel_2 = torch.softmax(q_l @ k_l.transpose(-2, -1), dim=-1)  # A~ = softmax(Q~ K~^T): (..., m, m)
    kernel_3 = torch.softmax(q_l @ k.transpose(-2, -1), dim=-1)  # B~ = softmax(Q~ K^T): (..., m, L)
    # S V ~ F~ A~^+ (B~ V), multiplied right to left: (m x L)(L x d), (m x m)(m x d), (L x m)(m x d).
    return kernel_1 @ (iterative_pinv(kernel_2, pinv_iterations) @ (kernel_3 @ v))


class Nystromformer(nn.Module):
    """Multi-head self-attention with the softmax attention approximated by the Nystrom method (linear in L).

    The projections are those of multi-head attention (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``);
    each head runs :func:`nystrom_attention`. With ``conv_kernel_size`` set, a depthwise convolution of V along
    the sequence (one kernel per head, shared by the head's channels) is added to the attention output, as in
    the authors' code (kernel 33 in their released configs).

    Args:
        dim: the model width D.
        num_heads: the number of heads h; must divide ``dim``.
        num_landmarks: m, the number of landmarks (the paper's default is 64).
        pinv_iterations: iterations of the pseudo-inverse (the paper uses 6).
        conv_kernel_size: odd kernel size of the depthwise skip convolution on V, or None for none.
        bias: add a bias to the four projections (as ``torch.nn.MultiheadAttention``).

    Shape:
        - Input: (N, L, D)
        - Output: (N, L, D)

    Examples:
        >>> attn = Nystromformer(256, num_heads=8, num_landmarks=32)
        >>> attn(torch.randn(2, 1000, 256)).shape
        torch.Size([2, 1000, 256])
    """

    def __init__(self, dim: int, num_heads: int = 8, num_landmarks: int = 64, pinv_iterations: int = 6,
                 conv_kernel_size: int | None = 33, bias: bool = True):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        if num_landmarks < 1 or pinv_iterations < 0:
            raise ValueError(f"num_landmarks must be >= 1 and pinv_iterations >= 0, got {num_landmarks}, "
                             f"{pinv_iterations}")
        if conv_kernel_size is not None and (conv_kernel_size < 1 or conv_kernel_size % 2 == 0):
            raise ValueError(f"conv_kernel_size must be a positive odd integer or None, got {conv_kernel_size}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.num_landmarks, self.pinv_iterations = num_landmarks, pinv_iterations
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        self.conv = None
        if conv_kernel_size is not None:  # authors' code: Conv2d(h, h, (k, 1), groups=h, bias=False) on V
            self.conv = nn.Conv2d(num_heads, num_heads, (conv_kernel_size, 1), padding=(conv_kernel_size // 2, 0),
                                  groups=num_heads, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Nystrom self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        split = lambda t: t.view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731 (N, h, L, d)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        dtype = q.dtype
        if dtype in _LOW_PRECISION:
            # Deviation: the landmark softmaxes and the pseudo-inverse iteration run in float32 for
            # float16/bfloat16 (the iteration amplifies rounding errors), then the result is cast back.
            out = nystrom_attention(q.float(), k.float(), v.float(), self.num_landmarks, self.pinv_iterations)
            out = out.to(dtype)
        else:
            out = nystrom_attention(q, k, v, self.num_landmarks, self.pinv_iterations)  # (N, h, L, d)
        if self.conv is not None:
            out = out + self.conv(v)  # depthwise conv of V along L, per head (authors' code): (N, h, L, d)
        return self.out_proj(out.transpose(1, 2).reshape(n, length, self.dim))  # (N, L, D)

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, num_heads={self.num_heads}, num_landmarks={self.num_landmarks}, "
                f"pinv_iterations={self.pinv_iterations}")
