# %% [markdown]
# # Gather-Excite: a sigmoid of the gathered context
#
# The parameter-free GE-θ⁻ gathers each channel's context with a global average pool and excites the
# feature map with its sigmoid. GE-θ replaces the pool by a learned depth-wise filter as large as the map.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
ge = create("gather_excite", channels=64)  # GE-θ⁻, global extent
x = torch.randn(2, 64, 56, 56) + 0.3
y = ge(x)
count = lambda m: sum(p.numel() for p in m.parameters())
print("output", tuple(y.shape), "| params", count(ge))

# %% [markdown]
# The gate is sigmoid(GAP(x)): channels whose mean response is high are kept, low ones are damped.

# %%
gap = x.mean(dim=(2, 3))[0]
gate = (y / x)[0, :, 0, 0]
for c in gap.argsort()[[0, 1, -2, -1]].tolist():
    print(f"channel {c:2d}: mean {gap[c]:+.3f} -> gate {gate[c]:.3f} (sigmoid {torch.sigmoid(gap[c]):.3f})")

# %% [markdown]
# GE-θ learns the gather: one H x W depth-wise filter per channel (plus BatchNorm), so it is tied to the
# feature-map size. At ResNet-50's first stage (256 channels, 56 x 56) that is 803,328 parameters.

# %%
ge_theta = create("gather_excite", channels=256, parametric=True, spatial_size=56)
print(f"GE-θ at C=256, 56x56: {count(ge_theta):,} params")

# %% [markdown]
# GE-θ⁻ fills every bottleneck's attention slot of a ResNet-50 at no parameter cost.

# %%
print(f"ResNet-50 {count(create('resnet50')):,}; with GE-θ⁻ {count(create('resnet50', attention='ge')):,}")
