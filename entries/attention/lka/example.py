# %% [markdown]
# # Large Kernel Attention: a decomposed 21x21 convolution as an attention map
#
# Build an LKA module, measure how far one input pixel reaches, and compare its cost with a dense large
# depth-wise kernel.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
lka = create("lka", channels=64)  # K = 21, d = 3: 5x5 DW, 7x7 DW dilation 3, 1x1
x = torch.randn(1, 64, 56, 56)
print("output", tuple(lka(x).shape), "| params", sum(p.numel() for p in lka.parameters()))

# %% [markdown]
# Perturb one input pixel and see which pixels of the attention map change.

# %%
bumped = x.clone()
bumped[:, :, 28, 28] += 1.0
with torch.no_grad():
    hit = (lka.attention(bumped) - lka.attention(x)).abs().amax(1)[0] > 0
rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
print(f"affected square: {int(rows[-1] - rows[0] + 1)} x {int(cols[-1] - cols[0] + 1)}, {int(hit.sum())} pixels")
print("formula (2d-1) + d(ceil(K/d)-1) =", lka.receptive_field, "(the paper speaks of 21 x 21)")

# %% [markdown]
# Cost of the decomposition vs one dense 23x23 depth-wise conv plus the same 1x1 conv.

# %%
C, HW = 64, 56 * 56
decomposed = HW * C * (25 + 49) + HW * C * C
dense = HW * C * 23 * 23 + HW * C * C
print(f"decomposed {decomposed / 1e6:.1f} M MACs vs dense {dense / 1e6:.1f} M MACs")
print("attention map takes both signs (no sigmoid):", bool((lka.attention(x) < 0).any() and (lka.attention(x) > 0).any()))
