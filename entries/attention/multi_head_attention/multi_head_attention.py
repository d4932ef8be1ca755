"""Multi-head self-attention (Vaswani et al.: "Attention Is All You Need", NeurIPS 2017, arXiv:1706.03762).

Sec. 3.2.2: project the tokens h times to queries, keys and values of width d_k = d_v = d_model / h,
run scaled dot-product attention (Eq. 1) on every head in parallel, concatenate and project back with W^O.
The projections are written out; the attention itself is ``torch.nn.functional.scaled_dot_product_attention``
(Eq. 1 as a fused kernel). The weights map one-to-one onto ``torch.nn.MultiheadAttention``
(``load_from_torch`` / ``to_torch``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """``MultiHead(X, X, X) = Concat(head_1, ..., head_h) W^O``, ``head_i = Attention(X W^Q_i, X W^K_i, X W^V_i)``.

    The h per-head matrices W^Q_i in R^{d_model x d_k} are stored side by side as one ``nn.Linear(dim, dim)``
    (``q_proj``; head i owns output features ``i*d_k : (i+1)*d_k``), and likewise W^K (``k_proj``),
    W^V (``v_proj``) and W^O in R^{h d_v x d_model} (``out_proj``). Mapping onto
    ``torch.nn.MultiheadAttention``: ``in_proj_weight = cat([q_proj.weight, k_proj.weight, v_proj.weight])``,
    ``in_proj_bias`` likewise, ``out_proj`` identical (``nn.Linear`` stores W^T, i.e. ``y = x W^T + b``).

    Args:
        dim: the model width d_model (the token width D).
        num_heads: the number of heads h; must divide ``dim``. The base model uses h = 8 (Sec. 3.2.2).
        bias: add a bias to the four projections. The paper's equations have none (set False for them);
            True (the default) matches ``torch.nn.MultiheadAttention``.
        dropout: dropout probability on the attention weights during training (as in
            ``torch.nn.MultiheadAttention``; not part of the paper's sub-layer, see README).

    Shape:
        - Input: (N, L, D)
        - key_padding_mask (optional): (N, L), boolean ``True`` = padding (ignored as a key), or additive float
        - attn_mask (optional): (L, L) or (N * h, L, L), boolean ``True`` = not allowed, or additive float
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> mha = MultiHeadSelfAttention(512)  # the base model: d_model = 512, h = 8, d_k = 64
        >>> mha(torch.randn(2, 10, 512)).shape
        torch.Size([2, 10, 512])
    """

    def __init__(self, dim: int, num_heads: int = 8, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1:
            raise ValueError(f"dim and num_heads must be positive, got {dim} and {num_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim}): d_k = d_model / h (Sec. 3.2.2)")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads  # Sec. 3.2.2: d_k = d_v = d_model / h
        self.dropout = dropout
        self.q_proj = nn.Linear(dim, dim, bias=bias)  # W^Q_1..h stacked: (h * d_k) x d_model
        self.k_proj = nn.Linear(dim, dim, bias=bias)  # W^K_1..h stacked
        self.v_proj = nn.Linear(dim, dim, bias=bias)  # W^V_1..h stacked
        self.out_proj = nn.Linear(dim, dim, bias=bias)  # W^O: h d_v -> d_model
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as ``torch.nn.MultiheadAttention`` does: Xavier-uniform over the packed (3D, D) input
        projection, zero biases; the paper does not state an initialisation."""
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            # xavier_uniform_ on the (3D, D) packed matrix: bound sqrt(6 / (D + 3D)) for each third.
            bound = (6.0 / (4 * self.dim)) ** 0.5
            nn.init.uniform_(proj.weight, -bound, bound)
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)  # out_proj.weight keeps nn.Linear's default, as in torch

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        n, length, _ = t.shape
        return t.view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # (N, h, L, d_k)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """Self-attention over the tokens of each sequence.

        The masks follow ``torch.nn.MultiheadAttention`` (boolean ``True`` = masked out), so code written
        for it behaves the same here.

        Args:
            x: tokens, (N, L, D).
            key_padding_mask: optional (N, L): ``True`` (bool) marks padding keys that no query attends to;
                a float mask is added to the logits.
            attn_mask: optional (L, L) or (N * num_heads, L, L): ``True`` (bool) forbids a query-key pair; a
                float mask is added to the logits.
            causal: if True, token ``i`` attends only to tokens ``j <= i`` (decoder masking, Sec. 3.2.3).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        q = self._split_heads(self.q_proj(x))  # Q W^Q_i for all i: (N, h, L, d_k)
        k = self._split_heads(self.k_proj(x))  # K W^K_i: (N, h, L, d_k)
        v = self._split_heads(self.v_proj(x))  # V W^V_i: (N, h, L, d_v)
        mask = self._merge_masks(key_padding_mask, attn_mask, causal, n, length, x)  # None or (N|1, h|1, L, L)
        # Eq. 1 on every head in parallel (fused kernel): softmax(Q K^T / sqrt(d_k)) V, (N, h, L, d_v).
        # Attention-weight dropout is torch's, not the paper's (README, Deviations).
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training
                                               else 0.0, is_causal=causal and mask is None)
        concat = heads.transpose(1, 2).reshape(n, length, self.dim)  # Concat(head_1, ..., head_h): (N, L, h d_v)
        return self.out_proj(concat)  # W^O: (N, L, D)

    def _merge_masks(self, key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None, causal: bool,
                     n: int, length: int, x: torch.Tensor) -> torch.Tensor | None:
        """One mask for ``F.scaled_dot_product_attention`` (boolean ``True`` = attend, or additive float)."""
        if key_padding_mask is None and attn_mask is None:
            return None  # the causal case alone goes to the kernel's is_causal
        additive = torch.zeros((), dtype=x.dtype, device=x.device)  # () broadcasts to (N, h, L, L)
        if key_padding_mask is not None:
            if key_padding_mask.shape != (n, length):
                raise ValueError(f"key_padding_mask must be (N, L) = {(n, length)}, got {tuple(key_padding_mask.shape)}")
            additive = additive + _to_additive(key_padding_mask, x.dtype)[:, None, None, :]  # (N, 1, 1, L)
        if attn_mask is not None:
            if attn_mask.shape == (length, length):
                attn = attn_mask
            elif attn_mask.shape == (n * self.num_heads, length, length):
                attn = attn_mask.view(n, self.num_heads, length, length)
            else:
                raise ValueError(f"attn_mask must be (L, L) or (N * num_heads, L, L), got {tuple(attn_mask.shape)}")
            additive = additive + _to_additive(attn, x.dtype)
        if causal:
            # Sec. 3.2.3: set the logits of subsequent positions to -inf.
            future = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)  # (L, L)
            additive = additive + _to_additive(future, x.dtype)
        return additive

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadSelfAttention":
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (same width, heads and bias) into this module.

        Args:
            mha: the source; it must have ``embed_dim == dim``, ``num_heads``, and no ``kdim``/``vdim``,
                ``add_bias_kv`` or ``add_zero_attn`` (``batch_first`` does not matter for the weights).

        Returns:
            self, so that ``MultiHeadSelfAttention(512).load_from_torch(mha)`` chains.
        """
        if mha.embed_dim != self.dim or mha.num_heads != self.num_heads:
            raise ValueError(f"shape mismatch: torch module has embed_dim={mha.embed_dim}, num_heads={mha.num_heads}; "
                             f"this one dim={self.dim}, num_heads={self.num_heads}")
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("only self-attention layouts map: no kdim/vdim, add_bias_kv or add_zero_attn")
        if (mha.in_proj_bias is not None) != (self.q_proj.bias is not None):
            raise ValueError(f"bias mismatch: torch module bias={mha.in_proj_bias is not None}, "
                             f"this one bias={self.q_proj.bias is not None}")
        for proj, w in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_weight.chunk(3)):
            proj.weight.copy_(w)
        if mha.in_proj_bias is not None:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
        self.out_proj.load_state_dict(mha.out_proj.state_dict())
        return self

    @torch.no_grad()
    def to_torch(self) -> nn.MultiheadAttention:
        """An equivalent ``torch.nn.MultiheadAttention(dim, num_heads, batch_first=True)`` with these weights.

        Returns:
            The torch module, on this module's device and dtype; call it as ``mha(x, x, x, need_weights=False)``.
        """
        w = self.q_proj.weight
        mha = nn.MultiheadAttention(self.dim, self.num_heads, dropout=self.dropout, bias=self.q_proj.bias is not None,
                                    batch_first=True, device=w.device, dtype=w.dtype)
        mha.in_proj_weight.copy_(torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]))
        if self.q_proj.bias is not None:
            mha.in_proj_bias.copy_(torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]))
        mha.out_proj.load_state_dict(self.out_proj.state_dict())
        return mha.train(self.training)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, head_dim={self.head_dim}, dropout={self.dropout}"


def _to_additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """torch.nn.MultiheadAttention's convention: bool ``True`` -> ``-inf`` (masked out); float -> as is."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)
