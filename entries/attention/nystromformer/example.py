# %% [markdown]
# # Nyströmformer: softmax attention from m landmarks
#
# Check the iterative pseudo-inverse, watch the error against exact softmax attention fall as the number of
# landmarks grows, and count the cost as the sequence grows.

# %%
import torch
import torch.nn.functional as F

from encyclo import create, module
from encyclo.measure.counting import count_ops

ny = module("nystromformer")
g = torch.Generator().manual_seed(0)
a = torch.softmax(4 * torch.eye(64, dtype=torch.float64) + 0.5 * torch.randn(64, 64, generator=g, dtype=torch.float64), -1)
for it in (1, 2, 4, 6):
    print(f"{it} iterations: max |Z - pinv(A)| = {(ny.iterative_pinv(a, it) - torch.linalg.pinv(a)).abs().max().item():.2e}")

# %% [markdown]
# Mean absolute error against exact softmax attention, one layer's worth of heads (L = 512, d = 32).

# %%
q, k, v = (torch.randn(1, 4, 512, 32, generator=g, dtype=torch.float64) * 0.6 for _ in range(3))
exact = F.scaled_dot_product_attention(q, k, v)
for m in (8, 32, 64, 128, 256, 512):
    print(f"m = {m:3d} landmarks: mean |error| = {(ny.nystrom_attention(q, k, v, m) - exact).abs().mean().item():.5f}")

# %% [markdown]
# MACs (D = 512, h = 8, m = 64, conv 33) against softmax multi-head attention.

# %%
for length in (1024, 2048, 4096, 8192):
    row = [count_ops(lambda name=name: create(name, dim=512, num_heads=8),
                     lambda device: (torch.randn(1, length, 512, device=device),), per_module=False).macs
           for name in ("nystromformer", "multi_head_attention")]
    print(f"L = {length:5d}: nystromformer {row[0] / 1e9:6.2f} GMACs   softmax {row[1] / 1e9:6.2f} GMACs")
