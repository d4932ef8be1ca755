"""Performer attention, FAVOR+ (Choromanski et al.: "Rethinking Attention with Performers", ICLR 2021,
arXiv:2009.14794).

Softmax attention A = exp(Q K^T / sqrt(d)) is a kernel matrix. FAVOR+ estimates it without forming it: with
positive random features (Lemma 1), exp(x^T y) = E_w[exp(w^T x - |x|^2/2) exp(w^T y - |y|^2/2)],
w ~ N(0, I_d), so A ~ Q' K'^T with Q' = phi(Q / d^(1/4)), K' = phi(K / d^(1/4)) of width m, and
Att(Q, K, V) ~ D^-1 (Q' (K'^T V)), D = diag(Q' (K'^T 1_L)) costs O(L m d) instead of O(L^2 d) (Sec. 2.2).
The m projection directions are drawn as blocks of exactly orthogonal vectors (Sec. 2.4, ORFs), which lowers
the variance of the estimate; FAVOR+ = positive + orthogonal random features.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def gaussian_orthogonal_random_matrix(num_features: int, dim: int, generator: torch.Generator | None = None,
                                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Sec. 2.4: m random directions in blocks of ``dim`` exactly orthogonal rows, with Gaussian-like norms.

    Each block of d rows is an orthogonal matrix from the QR factorisation of a d x d Gaussian matrix (made
    Haar-distributed by the sign of diag(R)); the rows are then rescaled by the norms of independent
    N(0, I_d) vectors (chi_d-distributed), so that every row is marginally N(0, I_d), as the unbiasedness of
    Lemma 1 requires, while rows of one block stay orthogonal. This is ``scaling=0`` of the authors' code.

    Args:
        num_features: m, the number of random features (rows).
        dim: d, the dimension of the queries/keys (columns).
        generator: a CPU ``torch.Generator`` for reproducible draws (None: torch's global RNG).
        dtype: dtype of the result (the QR runs in float64).

    Returns:
        (m, d) matrix W whose rows w_1..w_m are the random directions.

    Examples:
        >>> w = gaussian_orthogonal_random_matrix(8, 4, torch.Generator().manual_seed(0))
        >>> torch.allclose((w[:4] / w[:4].norm(dim=1, keepdim=True)) @ (w[:4] / w[:4].norm(dim=1, keepdim=True)).T,
        ...                torch.eye(4, dtype=w.dtype), atol=1e-6)
        True
    """
    if num_features < 1 or dim < 1:
        raise ValueError(f"num_features and dim must be positive, got {num_features} and {dim}")
    blocks = -(-num_features // dim)  # ceil(m / d) blocks of d orthogonal rows
    gauss = torch.randn(blocks, dim, dim, generator=generator, dtype=torch.float64, device="cpu")
    q, r = torch.linalg.qr(gauss)  # batched QR, (blocks, d, d)
    # Deviation from the authors' code: multiply the columns of Q by sign(diag R) so that Q is Haar-distributed
    # (plain QR output is not); every direction is then exactly isotropic, as Sec. 2.4 assumes.
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    directions = q.transpose(-2, -1).reshape(blocks * dim, dim)[:num_features]  # rows of Q^T: (m, d), unit norm
    norms = torch.randn(num_features, dim, generator=generator, dtype=torch.float64, device="cpu").norm(dim=1)
    return (directions * norms[:, None]).to(dtype)  # (m, d): orthogonal within a block, |w_i| ~ chi_d


def positive_random_features(x: torch.Tensor, projection: torch.Tensor, is_query: bool,
                             eps: float = 1e-6) -> torch.Tensor:
    """Lemma 1: phi(x) = exp(W x - |x|^2 / 2) / sqrt(m), positive features with E[phi(x)^T phi(y)] = exp(x^T y).

    The inputs are already scaled by d^(-1/4) (so that phi(q)^T phi(k) estimates exp(q^T k / sqrt(d))). For
    numerical stability the largest exponent is subtracted first, as the authors' code does: per query row
    (a factor that cancels in the row normalisation D^-1) and over all features and positions for the keys
    (a factor common to every entry, which cancels too).

    Args:
        x: (..., L, d) scaled queries or keys.
        projection: (m, d) random directions.
        is_query: subtract the max per row (queries) or over rows and features (keys).
        eps: added to every feature (authors' code, ``numerical_stabilizer``); keeps the normaliser positive.

    Returns:
        (..., L, m) positive features.
    """
    m = projection.shape[0]
    wx = x @ projection.transpose(0, 1)  # w_i^T x for all i: (..., L, m)
    half_sq_norm = 0.5 * x.square().sum(-1, keepdim=True)  # |x|^2 / 2, (..., L, 1)
    if is_query:
        stab = wx.amax(dim=-1, keepdim=True).detach()  # (..., L, 1): cancels in D^-1
    else:
        stab = wx.amax(dim=(-2, -1), keepdim=True).detach()  # (..., 1, 1): common to all keys, cancels
    # Deviation: + eps (authors' code) after the stabilising shift; not in the paper's equations.
    return (torch.exp(wx - half_sq_norm - stab) + eps) / math.sqrt(m)


def favor_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, projection: torch.Tensor,
                    causal: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """FAVOR+ estimate of softmax(Q K^T / sqrt(d)) V for every leading index (Sec. 2.2).

    Args:
        q: queries (..., L, d).
        k: keys (..., L, d).
        v: values (..., L, d_v).
        projection: (m, d) random directions (:func:`gaussian_orthogonal_random_matrix`).
        causal: if True, position i uses keys j <= i (unidirectional attention by prefix sums).
        eps: feature stabiliser, see :func:`positive_random_features`.

    Returns:
        (..., L, d_v).

    Shape:
        - q, k: (..., L, d); v: (..., L, d_v); projection: (m, d)
        - Output: (..., L, d_v)

    Examples:
        >>> w = gaussian_orthogonal_random_matrix(256, 16, torch.Generator().manual_seed(0))
        >>> q, k, v = torch.randn(2, 4, 100, 16), torch.randn(2, 4, 100, 16), torch.randn(2, 4, 100, 16)
        >>> favor_attention(q, k, v, w).shape
        torch.Size([2, 4, 100, 16])
    """
    scale = q.shape[-1] ** -0.25  # q^T k / sqrt(d) = (q d^-1/4)^T (k d^-1/4)
    qp = positive_random_features(q * scale, projection, is_query=True, eps=eps)  # Q': (..., L, m)
    kp = positive_random_features(k * scale, projection, is_query=False, eps=eps)  # K': (..., L, m)
    if causal:
        # Prefix sums over positions: S_i = sum_{j<=i} K'_j V_j^T (..., L, m, d_v), z_i = sum_{j<=i} K'_j.
        s = torch.einsum("...lm,...le->...lme", kp, v).cumsum(-3)
        num = torch.einsum("...lm,...lme->...le", qp, s)  # (..., L, d_v)
        den = (qp * kp.cumsum(-2)).sum(-1, keepdim=True)  # (..., L, 1)
    else:
        num = qp @ (kp.transpose(-2, -1) @ v)  # Q' (K'^T V): (m, d_v) built once, (..., L, d_v)
        den = qp @ kp.sum(-2).unsqueeze(-1)  # D = Q' (K'^T 1_L): (..., L, 1)
    return num / den  # D^-1 (Q' (K'^T V))


class Performer(nn.Module):
    """Multi-head self-attention whose softmax attention is estimated by FAVOR+ (linear in L).

    The projections are those of multi-head attention (``q_proj``, ``k_proj``, ``v_proj``: D -> h d_h,
    ``out_proj``: h d_h -> D); each head runs :func:`favor_attention`. The m x d_h random directions are a
    buffer (``projection``, shared by all heads, as in the authors' code), drawn once at construction from
    ``torch.Generator().manual_seed(seed)``: the same seed gives the same module output, and the matrix
    is saved in the state dict. :meth:`redraw_features` draws a new one (the paper redraws periodically
    during training); it is never redrawn inside ``forward``.

    Args:
        dim: the model width D.
        num_heads: the number of heads h; must divide ``dim``.
        num_features: m, the number of random features per head; the authors' code defaults to 256.
        causal: if True, token i attends only to tokens j <= i (unidirectional FAVOR+, prefix sums).
        bias: add a bias to the four projections (as ``torch.nn.MultiheadAttention``).
        seed: seed of the generator that draws the random directions.
        orthogonal: draw orthogonal (FAVOR+) rather than i.i.d. Gaussian directions.
        eps: added to every random feature (authors' code: 1e-6).

    Shape:
        - Input: (N, L, D)
        - Output: (N, L, D)

    Examples:
        >>> attn = Performer(256, num_heads=8, num_features=64)
        >>> attn(torch.randn(2, 1000, 256)).shape
        torch.Size([2, 1000, 256])
    """

    def __init__(self, dim: int, num_heads: int = 8, num_features: int = 256, causal: bool = False,
                 bias: bool = True, seed: int = 0, orthogonal: bool = True, eps: float = 1e-6):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim})")
        if num_features < 1:
            raise ValueError(f"num_features must be positive, got {num_features}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.num_features, self.causal, self.orthogonal, self.eps = num_features, causal, orthogonal, eps
        self.seed, self._draws = seed, 0
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        self.register_buffer("projection", self._draw(torch.Generator().manual_seed(seed)))  # (m, d_h)

    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        if self.orthogonal:
            w = gaussian_orthogonal_random_matrix(self.num_features, self.head_dim, generator)
        else:  # plain i.i.d. N(0, I) directions (positive random features without ORFs)
            w = torch.randn(self.num_features, self.head_dim, generator=generator, device="cpu")
        return w.to(torch.empty(0).device)  # drawn on CPU (reproducible), then to the default device (or meta)

    @torch.no_grad()
    def redraw_features(self, generator: torch.Generator | None = None) -> None:
        """Draw new random directions in place (the paper redraws the features periodically during training).

        Args:
            generator: CPU generator to draw from; default: one seeded with ``seed + number of redraws``, so a
                sequence of redraws is reproducible too.
        """
        self._draws += 1
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed + self._draws)
        w = self._draw(generator)
        self.projection.copy_(w.to(self.projection.device, self.projection.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """FAVOR+ self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        split = lambda t: t.view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731 (N, h, L, d_h)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        dtype = q.dtype
        if dtype in _LOW_PRECISION:
            # Deviation: features (exp) and the sums over L run in float32 for float16/bfloat16, then cast back.
            q, k, v = q.float(), k.float(), v.float()
        heads = favor_attention(q, k, v, self.projection.to(q.dtype), causal=self.causal, eps=self.eps)
        return self.out_proj(heads.to(dtype).transpose(1, 2).reshape(n, length, self.dim))  # (N, L, D)

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, num_heads={self.num_heads}, num_features={self.num_features}, "
                f"causal={self.causal}, orthogonal={self.orthogonal}, seed={self.seed}")
