# %% [markdown]
# # Grouped-query attention: between multi-query and multi-head
#
# Convert a multi-head attention layer into GQA-G by mean-pooling its key and value heads (the paper's
# uptraining starting point), see how far the output moves for each G, and what the K/V cache costs.

# %%
import torch

from encyclo import create, module

torch.manual_seed(0)
from_mha = module("grouped_query_attention").from_mha
d, h = 256, 8
mha = create("multi_head_attention", dim=d, num_heads=h).eval()
x = torch.randn(2, 64, d)
with torch.no_grad():
    reference = mha(x)
    for g in (8, 4, 2, 1):
        gqa = from_mha(mha, num_kv_heads=g)
        rel = ((gqa(x) - reference).norm() / reference.norm()).item()
        params = sum(p.numel() for p in gqa.parameters())
        print(f"GQA-{g}: params {params:,}  K/V cache per token {gqa.kv_size_per_token():4d}  "
              f"relative change of the output after mean-pooling {rel:.3f}")

# %% [markdown]
# GQA-8 (G = h) is the multi-head layer itself; GQA-1 is multi-query attention. Random heads differ a lot,
# so pooling them changes the output; a trained model is then uptrained to recover. If the heads of a group
# agree, the conversion is exact:

# %%
gqa = create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=2).eval()
tied = create("multi_head_attention", dim=d, num_heads=h).eval()  # MHA whose 4 heads per group share K/V
with torch.no_grad():
    tied.load_state_dict({k: (v.view(2, 1, -1, *v.shape[1:]).expand(2, 4, -1, *v.shape[1:]).reshape(d, *v.shape[1:])
                              if k.startswith(("k_proj", "v_proj")) else v) for k, v in gqa.state_dict().items()})
    back = from_mha(tied, num_kv_heads=2)
    print("GQA-2 -> MHA with tied heads -> from_mha: max difference", (back(x) - gqa(x)).abs().max().item())
mqa = create("multi_query_attention", dim=d, num_heads=h).eval()
one = create("grouped_query_attention", dim=d, num_heads=h, num_kv_heads=1).eval()
mqa.load_state_dict(one.state_dict())
with torch.no_grad():
    print("GQA-1 vs multi-query attention, max difference:", (one(x) - mqa(x)).abs().max().item())
