# %% [markdown]
# # Scaled dot-product attention: softmax(QK^T / sqrt(d_k)) V
#
# Eq. 1 of "Attention Is All You Need", written with two matrix products and a softmax. We check it
# against PyTorch's fused kernel, then see why the $1/\sqrt{d_k}$ scale matters.

# %%
import torch
import torch.nn.functional as F

from encyclo import create, module

torch.manual_seed(0)
sdpa = module("scaled_dot_product_attention")
attn = create("scaled_dot_product_attention", dim=64)
x = torch.randn(2, 197, 64)  # N = 2 sequences of L = 197 tokens, D = d_k = 64
y = attn(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in attn.parameters()))
print("max |ours - F.scaled_dot_product_attention|:", (y - F.scaled_dot_product_attention(x, x, x)).abs().max().item())

# %% [markdown]
# Separate queries, keys and values (several heads, a causal mask) go through the functional form.

# %%
q, k, v = torch.randn(3, 2, 8, 10, 32).unbind(0)  # (N, h, L, d_k)
ours = sdpa.scaled_dot_product_attention(q, k, v, causal=True)
print("causal, 8 heads: max difference", (ours - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max().item())

# %% [markdown]
# The footnote of Sec. 3.2.1: with unit-variance components, $q \cdot k$ has variance $d_k$. Without the
# scale the softmax collapses onto one key (its largest weight approaches 1); with it the spread stays
# the same at every width.

# %%
for d_k in (16, 64, 256, 1024):
    q, k = torch.randn(1, 256, d_k), torch.randn(1, 256, d_k)
    raw = sdpa.attention_logits(q, k, scale=1.0)
    scaled = sdpa.attention_logits(q, k)
    print(f"d_k={d_k:5d}  var(q.k)={raw.var().item():8.1f}  var(q.k/sqrt(d_k))={scaled.var().item():.3f}  "
          f"mean max weight: unscaled {raw.softmax(-1).amax(-1).mean().item():.3f}, "
          f"scaled {scaled.softmax(-1).amax(-1).mean().item():.3f}")

# %% [markdown]
# Cost: two products of L x L x D multiply-accumulates each, 2 L^2 D in all -- quadratic in L.

# %%
for length in (197, 1024):
    print(f"L={length}: 2 L^2 D = {2 * length**2 * 64:,} MACs at D = 64")
