# %% [markdown]
# # Multi-head self-attention
#
# Build the base model's attention (d_model = 512, h = 8), check it against `torch.nn.MultiheadAttention`
# with the same weights, and count what it costs.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
mha = create("multi_head_attention", dim=512).eval()  # num_heads = 8 by default
print(mha)
print(f"h = {mha.num_heads}, d_k = d_v = {mha.head_dim}, params {sum(p.numel() for p in mha.parameters()):,}"
      f" (4 d^2 + 4 d = {4 * 512**2 + 4 * 512:,})")

# %% [markdown]
# The weights map one-to-one onto PyTorch's module: `to_torch()` builds it, `load_from_torch()` copies back.

# %%
x = torch.randn(2, 10, 512)
ref = mha.to_torch()
with torch.no_grad():
    ours, theirs = mha(x), ref(x, x, x, need_weights=False)[0]
print("max |ours - nn.MultiheadAttention|:", (ours - theirs).abs().max().item())
pad = torch.zeros(2, 10, dtype=torch.bool)
pad[1, 6:] = True  # the second sequence has 4 padding tokens (True = padding, as in torch)
with torch.no_grad():
    diff = (mha(x, key_padding_mask=pad, causal=True)
            - ref(x, x, x, key_padding_mask=pad, attn_mask=torch.ones(10, 10, dtype=torch.bool).triu(1),
                  need_weights=False)[0]).abs().max().item()
print("with padding + causal masks:", diff)

# %% [markdown]
# Cost of a ViT-B layer's attention (L = 197 tokens, d = 768, h = 12): 4 L d^2 for the projections plus
# 2 L^2 d for the attention, independent of the number of heads.

# %%
from encyclo.measure.counting import count_ops

L, d = 197, 768
for h in (1, 12):
    macs = count_ops(lambda: create("multi_head_attention", dim=d, num_heads=h),
                     lambda device: (torch.randn(1, L, d, device=device),), per_module=False).macs
    print(f"h={h:2d}: {macs:,} MACs")
print(f"projections 4 L d^2 = {4 * L * d * d:,}; attention 2 L^2 d = {2 * L * L * d:,}")
