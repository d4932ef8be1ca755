# %% [markdown]
# # Multi-query attention: h query heads, one key head, one value head
#
# Build it next to multi-head attention, compare parameters, K/V cache and MACs, and check that it is
# multi-head attention whose key and value heads are all equal.

# %%
import torch

from encyclo import create
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
d, h = 512, 8
mqa = create("multi_query_attention", dim=d, num_heads=h, bias=False).eval()
mha = create("multi_head_attention", dim=d, num_heads=h, bias=False).eval()
print(mqa)
for name, m in (("multi-head ", mha), ("multi-query", mqa)):
    kv = m.k_proj.weight.numel() + m.v_proj.weight.numel()
    print(f"{name}: params {sum(p.numel() for p in m.parameters()):>9,}  K/V projection weights {kv:>7,}")
print(f"K/V cache per token: multi-head {2 * d} numbers, multi-query {mqa.kv_size_per_token()} (h = {h} x smaller)")

# %% [markdown]
# Multi-query attention is multi-head attention with every K head (and V head) set to the one shared head.

# %%
tied = create("multi_head_attention", dim=d, num_heads=h, bias=False).eval()
with torch.no_grad():
    tied.q_proj.weight.copy_(mqa.q_proj.weight)
    tied.k_proj.weight.copy_(mqa.k_proj.weight.repeat(h, 1))
    tied.v_proj.weight.copy_(mqa.v_proj.weight.repeat(h, 1))
    tied.out_proj.weight.copy_(mqa.out_proj.weight)
    x = torch.randn(2, 16, d)
    print("max |MQA - MHA with tied K/V heads|:", (mqa(x, causal=True) - tied(x, causal=True)).abs().max().item())

# %% [markdown]
# MACs at a ViT-B-sized layer (L = 197, D = 768, h = 12): only the K/V projections get cheaper; the
# attention products are the same. The saving that matters is memory traffic when decoding.

# %%
for name in ("multi_head_attention", "multi_query_attention"):
    macs = count_ops(lambda: create(name, dim=768, num_heads=12),
                     lambda device: (torch.randn(1, 197, 768, device=device),), per_module=False).macs
    print(f"{name:22s} {macs:,} MACs")
