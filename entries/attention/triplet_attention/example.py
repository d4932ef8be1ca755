# %% [markdown]
# # Triplet attention: three planes, three gates
#
# Build a triplet-attention block, look at the shape of each branch's gate, and drop it into a ResNet-50.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
ta = create("triplet_attention", channels=64).eval()  # k = 7
x = torch.randn(2, 64, 28, 28)
with torch.no_grad():
    y = ta(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in ta.parameters()))

# %% [markdown]
# Each branch Z-pools (max and mean) along one axis and gates the other two: (C, W), (H, C) and (H, W).
# The output is the input times the average of the three gates.

# %%
with torch.no_grad():
    gates = ta.gates(x)
for name, g in zip(["pool H -> (C, W)", "pool W -> (H, C)", "pool C -> (H, W)"], gates):
    print(f"{name:18s} gate {tuple(g.shape)} range [{g.min():.3f}, {g.max():.3f}]")
print("y == x * mean of gates:", torch.allclose(y, x * sum(gates) / 3, atol=1e-6))

# %% [markdown]
# The parameter count does not depend on the width: 3 x (2 * 7 * 7 + 2) = 300.

# %%
for c in (64, 256, 2048):
    print(f"C = {c:4d}: {sum(p.numel() for p in create('triplet_attention', channels=c).parameters())} params")

# %% [markdown]
# ResNet-50 with triplet attention in every bottleneck (authors' README: 25.56 M parameters).

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50, ta_r50 = create("resnet50"), create("resnet50", attention="triplet_attention")
print(f"ResNet-50 {count(r50):,}; + triplet attention {count(ta_r50):,} (+{count(ta_r50) - count(r50):,})")
