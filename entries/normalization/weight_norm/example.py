# %% [markdown]
# # Weight Normalization: length and direction of each filter, learned apart
#
# Reparameterize a convolution as w = g v / ||v||, check it against torch's own parametrization,
# see that the filter norms are exactly g, and apply the paper's data-dependent initialization.

# %%
import torch

from encyclo import create, module

torch.manual_seed(0)
conv = create("weight_norm", channels=64)  # a 3 x 3, 64 -> 64 convolution with weight normalization
x = torch.randn(8, 64, 16, 16)
print("output", tuple(conv(x).shape), "| params", sum(p.numel() for p in conv.parameters()),
      "= v 36864 + g 64 + bias 64")
print("g shape", tuple(conv.g.shape), "| v shape", tuple(conv.v.shape))

# %% [markdown]
# Eq. 2 fixes the length of every filter to g, whatever the direction v: scale v by anything and the
# layer does not change.

# %%
with torch.no_grad():
    conv.g.uniform_(0.5, 2.0)
norms = conv.weight.flatten(1).norm(dim=1)
print(f"max | ||w_i|| - g_i | = {(norms - conv.g.flatten()).abs().max():.1e}")
before = conv(x)
with torch.no_grad():
    conv.v.mul_(37.0)
print(f"output change after v *= 37: {(conv(x) - before).abs().max():.1e}")

# %% [markdown]
# The same numbers as `torch.nn.utils.parametrizations.weight_norm`: the state dict loads directly.

# %%
ref = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv2d(64, 64, 3, padding=1))
ref.load_state_dict(conv.conv.state_dict())
print(f"max |ours - torch|: {(conv(x) - ref(x)).abs().max():.1e}")

# %% [markdown]
# The generic function works on any layer, e.g. a Linear layer (one g per output unit).

# %%
lin = module("weight_norm").weight_norm(torch.nn.Linear(32, 10))
print("Linear weight norms == g:",
      torch.allclose(lin.weight.norm(dim=1), lin.parametrizations.weight.original0.flatten()))

# %% [markdown]
# Sec. 3: data-dependent initialization sets g = 1/sigma[t] and b = -mu[t]/sigma[t] from one batch, so
# the pre-activations start standardized per channel.

# %%
x = 4 * torch.randn(16, 64, 12, 12) + 2
conv = create("weight_norm", channels=64).data_dependent_init(x)
var, mean = torch.var_mean(conv(x), dim=(0, 2, 3), correction=0)
print(f"after init: per-channel mean |max| {mean.abs().max():.1e}, std in [{var.sqrt().min():.5f}, {var.sqrt().max():.5f}]")
