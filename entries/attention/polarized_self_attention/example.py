# %% [markdown]
# # Polarized Self-Attention: one gate per channel, one gate per pixel
#
# Build a PSA block, look at its two polarized gates, compare the layouts and check that its cost
# grows linearly with the number of pixels.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
psa = create("polarized_self_attention", channels=64)  # parallel layout
x = torch.randn(2, 64, 24, 24)
print("output", tuple(psa(x).shape), "| params", sum(p.numel() for p in psa.parameters()), "(2C^2 + C)")

# %% [markdown]
# The channel-only gate collapses space, the spatial-only gate collapses channels.

# %%
with torch.no_grad():
    a_ch, a_sp = psa.channel_attention(x), psa.spatial_attention(x)
print("A_ch", tuple(a_ch.shape), "range %.3f..%.3f" % (a_ch.min(), a_ch.max()))
print("A_sp", tuple(a_sp.shape), "range %.4f..%.4f (sigmoid of a softmax over 576 positions)" % (a_sp.min(), a_sp.max()))

# %% [markdown]
# Parallel vs sequential layout with the same weights.

# %%
seq = create("polarized_self_attention", channels=64, layout="sequential")
seq.load_state_dict(psa.state_dict())
with torch.no_grad():
    print("mean |parallel - sequential| = %.3f" % (psa(x) - seq(x)).abs().mean())

# %% [markdown]
# MACs are linear in H x W (a non-local block would grow quadratically).

# %%
for side in (16, 32, 64):
    with FlopCounterMode(display=False) as counter:
        psa(torch.randn(1, 64, side, side))
    print(f"{side:3d}x{side:<3d} {counter.get_total_flops() / 2 / 1e6:8.2f} M MACs")
