"""Grouped-query attention (Ainslie et al.: "GQA: Training Generalized Multi-Query Transformer Models from
Multi-Head Checkpoints", EMNLP 2023, arXiv:2305.13245).

Sec. 2.2: the h query heads are divided into G groups; the heads of one group share a single key head and
a single value head. GQA-1 (one group) is multi-query attention, GQA-h (one head per group) is multi-head
attention. Sec. 2.1: a multi-head checkpoint is converted ("uptrained") by mean-pooling the key and value
projection matrices of the heads of each group (``from_mha``). The attention itself is
``torch.nn.functional.scaled_dot_product_attention`` with ``enable_gqa=True``, which broadcasts each key/value
head over its group without copying it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GroupedQueryAttention(nn.Module):
    """Self-attention with ``num_heads`` query heads sharing ``num_kv_heads`` key/value heads (GQA-G).

    Query head ``i`` uses key/value head ``i // (num_heads // num_kv_heads)``: the groups are contiguous runs of
    query heads (the layout of ``F.scaled_dot_product_attention(enable_gqa=True)`` and of
    Llama-style ``repeat_kv``). Weights are stored as ``nn.Linear`` layers: ``q_proj`` (D -> h d_k), ``k_proj``
    and ``v_proj`` (D -> G d_k), ``out_proj`` (h d_k -> D), with d_k = D / h.

    Args:
        dim: the model width D.
        num_heads: the number of query heads h; must divide ``dim``.
        num_kv_heads: the number of groups G, i.e. of key/value heads; must divide ``num_heads``. G = 1 is
            multi-query attention, G = h is multi-head attention (Sec. 2.2).
        bias: add a bias to the four projections (True, as ``torch.nn.MultiheadAttention``; the paper's T5
            projections have none).
        dropout: dropout probability on the attention weights during training.

    Shape:
        - Input: (N, L, D)
        - key_padding_mask (optional): (N, L), boolean ``True`` = padding, or additive float
        - attn_mask (optional): (L, L) or (N * h, L, L), boolean ``True`` = not allowed, or additive float
        - Output: (N, L, D)

    Examples:
        >>> import torch
        >>> gqa = GroupedQueryAttention(512, num_heads=8, num_kv_heads=2)  # 4 query heads per K/V head
        >>> gqa(torch.randn(2, 10, 512)).shape
        torch.Size([2, 10, 512])
    """

    def __init__(self, dim: int, num_heads: int = 8, num_kv_heads: int = 2, bias: bool = True,
                 dropout: float = 0.0):
        super().__init__()
        if dim < 1 or num_heads < 1 or num_kv_heads < 1:
            raise ValueError(f"dim, num_heads and num_kv_heads must be positive, got {dim}, {num_heads}, {num_kv_heads}")
        if dim % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide dim ({dim}): d_k = D / h")
        if num_heads % num_kv_heads:
            raise ValueError(f"num_kv_heads ({num_kv_heads}) must divide num_heads ({num_heads}): "
                             "every group holds the same number of query heads (Sec. 2.2)")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout}")
        self.dim = dim
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = dim // num_heads
        self.dropout = dropout
        kv_dim = num_kv_heads * self.head_dim
        self.q_proj = nn.Linear(dim, dim, bias=bias)  # h query heads: (h d_k) x D
        self.k_proj = nn.Linear(dim, kv_dim, bias=bias)  # Sec. 2.2: one key head per group, (G d_k) x D
        self.v_proj = nn.Linear(dim, kv_dim, bias=bias)  # one value head per group
        self.out_proj = nn.Linear(dim, dim, bias=bias)  # W^O: h d_v -> D
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform projections and zero biases, with the bound multi-head attention would use (not stated
        by the paper, which starts from a multi-head checkpoint)."""
        bound = (6.0 / (4 * self.dim)) ** 0.5  # as torch.nn.MultiheadAttention's packed (3D, D) matrix
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.uniform_(proj.weight, -bound, bound)
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """Grouped-query self-attention over the tokens of each sequence.

        Args:
            x: tokens, (N, L, D).
            key_padding_mask: optional (N, L); ``True`` (bool) marks padding keys; a float mask is added.
            attn_mask: optional (L, L) or (N * num_heads, L, L); ``True`` (bool) forbids a pair; float is added.
            causal: if True, token ``i`` attends only to tokens ``j <= i`` (decoder self-attention).

        Returns:
            (N, L, D).
        """
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"expected tokens (N, L, {self.dim}), got {tuple(x.shape)}")
        n, length, _ = x.shape
        q = self.q_proj(x).view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # (N, h, L, d_k)
        k = self.k_proj(x).view(n, length, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (N, G, L, d_k)
        v = self.v_proj(x).view(n, length, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (N, G, L, d_v)
        mask = _merge_masks(key_padding_mask, attn_mask, causal, n, self.num_heads, length, x)
        # Sec. 2.2: each query head attends with the key/value head of its group; enable_gqa broadcasts the G
        # heads over their h / G query heads inside the kernel. Output (N, h, L, d_v).
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training
                                               else 0.0, is_causal=causal and mask is None, enable_gqa=True)
        return self.out_proj(heads.transpose(1, 2).reshape(n, length, self.dim))  # concat heads, W^O: (N, L, D)

    def kv_size_per_token(self) -> int:
        """Numbers stored per token in a decoding key/value cache: 2 G d_k (2 h d_k for multi-head attention)."""
        return 2 * self.num_kv_heads * self.head_dim

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, "
                f"head_dim={self.head_dim}, dropout={self.dropout}")


@torch.no_grad()
def from_mha(mha: nn.Module, num_kv_heads: int) -> GroupedQueryAttention:
    """Convert a multi-head attention module into GQA-G by mean-pooling its key and value heads (Sec. 2.1).

    The key (and the value) projection of each group is the mean of the projections of the heads in that group
    of ``num_heads // num_kv_heads`` consecutive heads; for G = 1 all heads are pooled into the single key and
    value head of multi-query attention. The query and output projections are copied. The paper then uptrains
    the converted model with a small fraction (5 %) of the original pre-training compute; that is training,
    not part of this function.

    Args:
        mha: a ``torch.nn.MultiheadAttention`` (self-attention layout: no kdim/vdim, bias_kv or zero_attn) or any
            module with ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` linear layers and a ``num_heads``
            attribute (e.g. the ``multi_head_attention`` entry).
        num_kv_heads: the number of groups G; must divide the number of heads.

    Returns:
        A new ``GroupedQueryAttention`` on the source's device and dtype, in eval mode if the source is.

    Examples:
        >>> mha = torch.nn.MultiheadAttention(64, 8, batch_first=True)
        >>> from_mha(mha, num_kv_heads=2).k_proj.weight.shape
        torch.Size([16, 64])
    """
    if isinstance(mha, nn.MultiheadAttention):
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("only self-attention layouts convert: no kdim/vdim, add_bias_kv or add_zero_attn")
        weights = mha.in_proj_weight.chunk(3)
        biases = mha.in_proj_bias.chunk(3) if mha.in_proj_bias is not None else (None, None, None)
        out_w, out_b = mha.out_proj.weight, mha.out_proj.bias
        dim, num_heads, dropout = mha.embed_dim, mha.num_heads, mha.dropout
    elif all(hasattr(mha, a) for a in ("q_proj", "k_proj", "v_proj", "out_proj", "num_heads")):
        projs = (mha.q_proj, mha.k_proj, mha.v_proj)
        weights = tuple(p.weight for p in projs)
        biases = tuple(p.bias for p in projs)
        out_w, out_b = mha.out_proj.weight, mha.out_proj.bias
        dim, num_heads, dropout = mha.q_proj.in_features, mha.num_heads, float(getattr(mha, "dropout", 0.0))
        if any(w.shape != (dim, dim) for w in weights):
            raise ValueError("the source must be multi-head attention: q_proj, k_proj, v_proj all (D, D)")
    else:
        raise ValueError(f"cannot read a multi-head attention layout from {type(mha).__name__}")
    if num_kv_heads < 1 or num_heads % num_kv_heads:
        raise ValueError(f"num_kv_heads ({num_kv_heads}) must divide the number of heads ({num_heads})")
    has_bias = biases[0] is not None
    gqa = GroupedQueryAttention(dim, num_heads, num_kv_heads, bias=has_bias, dropout=dropout).to(
        device=weights[0].device, dtype=weights[0].dtype)
    head_dim, group = dim // num_heads, num_heads // num_kv_heads

    def pool(t: torch.Tensor) -> torch.Tensor:
        # Sec. 2.1: mean-pool the heads of each group: (h d_k, ...) -> (G, h/G, d_k, ...) -> (G d_k, ...).
        return t.reshape(num_kv_heads, group, head_dim, *t.shape[1:]).mean(1).reshape(num_kv_heads * head_dim,
                                                                                      *t.shape[1:])

    gqa.q_proj.weight.copy_(weights[0])
    gqa.k_proj.weight.copy_(pool(weights[1]))
    gqa.v_proj.weight.copy_(pool(weights[2]))
    gqa.out_proj.weight.copy_(out_w)
    if has_bias:
        gqa.q_proj.bias.copy_(biases[0])
        gqa.k_proj.bias.copy_(pool(biases[1]))
        gqa.v_proj.bias.copy_(pool(biases[2]))
    if out_b is not None and gqa.out_proj.bias is not None:
        gqa.out_proj.bias.copy_(out_b)
    return gqa.train(mha.training)


def _merge_masks(key_padding_mask: torch.Tensor | None, attn_mask: torch.Tensor | None, causal: bool, n: int,
                 num_heads: int, length: int, x: torch.Tensor) -> torch.Tensor | None:
    """One additive mask for ``F.scaled_dot_product_attention`` from torch.nn.MultiheadAttention's conventions."""
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
        elif attn_mask.shape == (n * num_heads, length, length):
            attn = attn_mask.view(n, num_heads, length, length)
        else:
            raise ValueError(f"attn_mask must be (L, L) or (N * num_heads, L, L), got {tuple(attn_mask.shape)}")
        additive = additive + _to_additive(attn, x.dtype)
    if causal:
        future = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)  # (L, L)
        additive = additive + _to_additive(future, x.dtype)
    return additive


def _to_additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """bool ``True`` -> ``-inf`` (masked out); float -> as is (torch.nn.MultiheadAttention's convention)."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)
