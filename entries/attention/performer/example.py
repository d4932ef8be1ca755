# %% [markdown]
# # Performer (FAVOR+): softmax attention from positive orthogonal random features
#
# Estimate exp(q . k) with random features, watch the error of the attention fall as the number of
# features m grows, and count the cost as L grows.

# %%
import torch
import torch.nn.functional as F

from encyclo import create, module
from encyclo.measure.counting import count_ops

pf = module("performer")
g = torch.Generator().manual_seed(0)
x, y = torch.randn(2, 16, generator=g, dtype=torch.float64) * 0.2
w = torch.randn(100000, 16, generator=g, dtype=torch.float64)  # i.i.d. directions, Lemma 1
est = (torch.exp(w @ x - x.square().sum() / 2) * torch.exp(w @ y - y.square().sum() / 2)).mean()
print(f"exp(x.y) = {torch.exp(x @ y).item():.5f}, positive-feature estimate (m = 100,000) = {est.item():.5f}")

# %% [markdown]
# Error of FAVOR+ against exact softmax attention (one head, d = 16, L = 256) as m grows, orthogonal
# (FAVOR+) vs i.i.d. directions, averaged over 4 draws.

# %%
q, k, v = (torch.randn(1, 256, 16, generator=g, dtype=torch.float64) * 0.7 for _ in range(3))
exact = F.scaled_dot_product_attention(q, k, v)
for m in (8, 32, 128, 512):
    ort = iid = 0.0
    for s in range(4):
        w_ort = pf.gaussian_orthogonal_random_matrix(m, 16, torch.Generator().manual_seed(s), dtype=torch.float64)
        w_iid = torch.randn(m, 16, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
        ort += (pf.favor_attention(q, k, v, w_ort) - exact).abs().mean().item() / 4
        iid += (pf.favor_attention(q, k, v, w_iid) - exact).abs().mean().item() / 4
    print(f"m = {m:4d}: mean |error| orthogonal {ort:.4f}   i.i.d. {iid:.4f}")

# %% [markdown]
# MACs of one layer (D = 512, h = 8, m = 256) against softmax multi-head attention.

# %%
for length in (512, 2048, 8192):
    row = [count_ops(lambda name=name: create(name, dim=512, num_heads=8),
                     lambda device: (torch.randn(1, length, 512, device=device),), per_module=False).macs
           for name in ("performer", "multi_head_attention")]
    print(f"L = {length:5d}: performer {row[0] / 1e9:6.2f} GMACs   softmax {row[1] / 1e9:6.2f} GMACs")
