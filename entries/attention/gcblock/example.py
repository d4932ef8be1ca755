# %% [markdown]
# # Global Context block: one context per image, added everywhere
#
# Build a GC block, look at its attention pooling, check that the context does not depend on where the
# pixels are, and compare its cost with SE and the non-local block it simplifies.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
gc = create("gcblock", channels=256)  # r = 16
x = torch.randn(2, 256, 14, 14)
print("params", sum(p.numel() for p in gc.parameters()), "| output", tuple(gc(x).shape))

# %% [markdown]
# Context modeling: a softmax over all 14 x 14 positions, the same weights for every query.

# %%
with torch.no_grad():
    alpha = torch.softmax(gc.conv_mask(x).flatten(1), dim=1)  # (N, HW)
    context = gc.context_modeling(x)  # (N, C, 1, 1)
print("weights sum to", [round(s, 4) for s in alpha.sum(1).tolist()], "| context", tuple(context.shape))
perm = torch.randperm(14 * 14)
shuffled = x.flatten(2)[:, :, perm].reshape_as(x)
with torch.no_grad():
    print("same context for shuffled pixels:", torch.allclose(context, gc.context_modeling(shuffled), atol=1e-5))

# %% [markdown]
# Fusion adds one vector to every position. The last transform conv starts at zero (authors' code), so a
# fresh block is the identity; after some training the added vector is the same at every pixel.

# %%
print("identity at init:", torch.equal(gc(x), x))
torch.nn.init.normal_(gc.transform[-1].weight, std=0.05)
with torch.no_grad():
    delta = gc(x) - x
print("added vector constant over space:", torch.allclose(delta, delta[:, :, :1, :1].expand_as(delta), atol=1e-5))

# %% [markdown]
# Cost beside SE and the non-local block at one feature-map size.

# %%
from torch.utils.flop_counter import FlopCounterMode

for name in ("seblock", "gcblock", "nonlocal_block"):
    block = create(name, channels=256)
    with FlopCounterMode(display=False) as counter:
        block(torch.randn(1, 256, 28, 28))
    params = sum(p.numel() for p in block.parameters())
    print(f"{name:15s} {params:7,d} params {counter.get_total_flops() / 2 / 1e6:8.2f} M MACs")
