# %% [markdown]
# # Shuffle Attention: two gates per group, then a shuffle
#
# Build an SA block, look at its two gates, check its parameter count and drop it into ResNet-50.

# %%
import torch

from encyclo import create, module

torch.manual_seed(0)
sa = create("shuffle_attention", channels=512)  # G = 64 groups, 4 channels per branch and group
x = torch.randn(2, 512, 14, 14)
print("output", tuple(sa(x).shape), "| params", sum(p.numel() for p in sa.parameters()), "(3C/G = 24)")

# %% [markdown]
# A fresh block (W = 0, b = 1) gates everything with sigmoid(1): it is a scaled channel shuffle.

# %%
shuffle = module("shuffle_attention").channel_shuffle
print("fresh block == 0.731 * shuffle(x):", torch.allclose(sa(x), shuffle(x, 2) * torch.sigmoid(torch.tensor(1.0)), atol=1e-6))

# %% [markdown]
# Give the scales and shifts some values: the channel gate is one number per (group, channel), the
# spatial gate varies over H x W.

# %%
for p in (sa.cweight, sa.cbias, sa.sweight, sa.sbias):
    torch.nn.init.normal_(p)
with torch.no_grad():
    channel_gate, spatial_gate = sa.gates(x)
print("channel gate", tuple(channel_gate.shape), "| spatial gate", tuple(spatial_gate.shape))
print("spatial gate range over positions: %.3f .. %.3f" % (spatial_gate.min(), spatial_gate.max()))

# %% [markdown]
# SA-ResNet-50: 3C/G parameters in each of the 16 bottlenecks.

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50, sa_r50 = create("resnet50"), create("resnet50", attention="shuffle_attention")
print(f"ResNet-50 {count(r50):,} params; SA-ResNet-50 {count(sa_r50):,} (+{count(sa_r50) - count(r50):,})")
