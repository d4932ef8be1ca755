# %% [markdown]
# # SimAM: parameter-free 3-D attention from an energy function
#
# Every neuron is weighted by sigmoid(1 / e_t*), its inverse minimal energy (Eqs. 5-6): neurons that stand
# out from their channel's mean get larger weights. No parameters, no convolutions.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
simam = create("simam", channels=64)  # lambda = 1e-4
x = torch.randn(2, 64, 14, 10)
y = simam(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in simam.parameters()))

# %% [markdown]
# The weight is a 3-D map: it changes across channels *and* positions. It never drops below
# sigmoid(1/2) ≈ 0.62 (a neuron at the channel mean) and grows with |t - mu| / sigma.

# %%
w = torch.sigmoid(simam.inverse_energy(x))
print(f"weights: min {w.min():.3f}, mean {w.mean():.3f}, max {w.max():.3f}")
z = ((x - x.mean(dim=(2, 3), keepdim=True)) / x.std(dim=(2, 3), keepdim=True)).abs()
for lo, hi in ((0, 0.5), (0.5, 1), (1, 2), (2, 10)):
    sel = (z >= lo) & (z < hi)
    print(f"|t - mu| / sigma in [{lo}, {hi}): mean weight {w[sel].mean():.3f} over {int(sel.sum())} neurons")

# %% [markdown]
# The closed form, Eq. 5 then Eq. 6, written out (variance over H*W - 1, as in the authors' code):

# %%
mu, s2, lam = x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), keepdim=True), 1e-4
e_star = 4 * (s2 + lam) / ((x - mu) ** 2 + 2 * s2 + 2 * lam)
print("module == x * sigmoid(1 / e*):", torch.allclose(y, x * torch.sigmoid(1 / e_star), atol=1e-6))

# %% [markdown]
# In a ResNet it fills every block's attention slot and adds nothing to the parameter count.

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-50 {count(create('resnet50')):,} params; with SimAM {count(create('resnet50', attention='simam')):,}")
