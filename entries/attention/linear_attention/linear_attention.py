"""Linear attention (Katharopoulos, Vyas, Pappas, Fleuret: "Transformers are RNNs: Fast Autoregressive
Transformers with Linear Attention", ICML 2020, arXiv:2006.16236).

Sec. 3.2: replace the softmax similarity exp(q . k / sqrt(d)) by a kernel phi(q) . phi(k) with the feature map
phi(x) = elu(x) + 1 (Eq. 7). By associativity, V'_i = phi(Q_i)^T (sum_j phi(K_j) V_j^T) / phi(Q_i)^T sum_j phi(K_j)
(Eq. 5-6): the L x L attention matrix is never formed and the cost is linear in the sequence length L.
Sec. 3.3: with causal masking the sums run over j <= i, i.e. they become the running states S_i and Z_i of an
RNN (Eq. 9-10), computed here for all positions at once with cumulative sums.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """Eq. 7: phi(x) = elu(x) + 1, a positive feature map (elu rather than relu keeps gradients for x < 0).

    Args:
        x: any tensor.

    Returns:
        phi(x) > 0, same shape.
    """
    return F.elu(x) + 1.0


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                     eps: float = 1e-6) -> torch.Tensor:
    """Linearized attention of already feature-mapped queries and keys (Eq. 5-6; causal: Eq. 9-10).

    Args:
        q: phi(Q), (..., L, d_k), non-negative.
        k: phi(K), (..., L, d_k), non-negative.
        v: values, (..., L, d_v).
        causal: if True, position i only uses keys and values j <= i (running sums S_i, Z_i).
        eps: added to the normaliser, as the authors' code does (not in the equations).

    Returns:
        (..., L, d_v).

    Shape:
        - q, k: (..., L, d_k); v: (..., L, d_v)
        - Output: (..., L, d_v)

    Examples:
        >>> import torch
        >>> q, k, v = torch.rand(2, 4, 10, 8), torch.rand(2, 4, 10, 8), torch.randn(2, 4, 10, 16)
        >>> linear_attention(q, k, v, causal=True).shape
        torch.Size([2, 4, 10, 16])
    """
    if causal:
        # Eq. 10: S_i = sum_{j<=i} phi(K_j) V_j^T, (..., L, d_k, d_v), and Z_i = sum_{j<=i} phi(K_j), (..., L, d_k):
        # the RNN states at every position at once, by cumulative sums over L (no loop over time).
        s = torch.einsum("...ld,...le->...lde", k, v).cumsum(-3)
        z = k.cumsum(-2)
        num = torch.einsum("...ld,...lde->...le", q, s)  # Eq. 9 numerator: phi(Q_i)^T S_i
        den = (q * z).sum(-1, keepdim=True)  # Eq. 9 denominator: phi(Q_i)^T Z_i, (..., L, 1)
    else:
        kv = torch.matmul(k.transpose(-2, -1), v)  # Eq. 6: phi(K)^T V = sum_j phi(K_j) V_j^T, (..., d_k, d_v)
        z = k.sum(-2, keepdim=True)  # sum_j phi(K_j), (..., 1, d_k)
        num = torch.matmul(q, kv)  # phi(Q) (phi(K)^T V), (..., L, d_v): linear in L
        den = torch.matmul(q, z.transpose(-2, -1))  # phi(Q) sum_j phi(K_j), (..., L, 1)
    # Deviation: + eps in the normaliser (authors' code, eps = 1e-6) guards against a vanishing denominator.
    return num / (den + eps)


class LinearAttention(nn.Module):
    """Multi-head self-attention with the softmax replaced by the elu(x) + 1 kernel (linear in L).

    The projections are those of multi-head attention: ``q_proj``, ``k_proj``, ``v_proj`` (D -> h d_k, the h
    heads side by side) and ``out_proj`` (h d_v -> D); each head runs :func:`linear_attention` on
    ``phi(Q_h), phi(K_h), V_h``.

    Args:
        dim: the model width D.
        num_heads: the number of heads h; must divide ``dim`` (d_k = d_v = D / h).
        causal: if True, token i attends only to tokens j <= i (autoregressive, Sec. 3.3).
        bias: add a bias to the four projections (as ``torch.nn.MultiheadAttention`` and the authors' code).
        eps: added to the normaliser (the authors' code uses 1e-6).

    Shape:
        - Input: (N, L, D)
        - key_padding_mask (optional): (N, L) boolean, ``True`` = padding (dropped from the sums)
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> attn = LinearAttention(256, num_heads=8)
        >>> attn(torch.randn(2, 1000, 256)).shape
        torch.Size([2, 1000, 256])
    """

    def __init__(self, dim: int, num_heads: int = 8, causal: bool = False, bias: bool = True, eps: float = 1e-6):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.causal = causal
        self.eps = eps
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Linear self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).
            key_padding_mask: optional (N, L) boolean; ``True`` marks padding tokens, which no query uses.

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        split = lambda t: t.view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731 (N, h, L, d)
        q = elu_feature_map(split(self.q_proj(x)))  # Eq. 7: phi(Q)
        k = elu_feature_map(split(self.k_proj(x)))  # Eq. 7: phi(K)
        v = split(self.v_proj(x))
        if key_padding_mask is not None:
            if key_padding_mask.shape != (n, length) or key_padding_mask.dtype != torch.bool:
                raise ValueError(f"key_padding_mask must be a bool (N, L) = {(n, length)} tensor, "
                                 f"got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
            k = k.masked_fill(key_padding_mask[:, None, :, None], 0.0)  # phi(K_j) = 0: key j drops out of the sums
        dtype = q.dtype
        if dtype in _LOW_PRECISION:
            # Deviation: the sums over L run in float32 for float16/bfloat16 (long sums lose precision), then cast.
            q, k, v = q.float(), k.float(), v.float()
        heads = linear_attention(q, k, v, causal=self.causal, eps=self.eps).to(dtype)  # (N, h, L, d_v)
        return self.out_proj(heads.transpose(1, 2).reshape(n, length, self.dim))  # concat heads, W^O: (N, L, D)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, head_dim={self.head_dim}, causal={self.causal}"
