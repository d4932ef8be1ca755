# %% [markdown]
# # Squeeze-and-Excitation: gates per channel
#
# Build an SE block, look at the gates it computes, and drop it into a ResNet-50.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
se = create("seblock", channels=64)  # reduction r = 16 by default
x = torch.randn(2, 64, 56, 56)
y = se(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in se.parameters()))

# %% [markdown]
# The gate is `y / x`: one value in (0, 1) per (sample, channel), constant over H x W.

# %%
gates = (y / x)[:, :, 0, 0]
print("gates of sample 0, first 8 channels:", [round(g, 3) for g in gates[0, :8].tolist()])
print("constant over space:", torch.allclose(y, x * gates[:, :, None, None], atol=1e-6))

# %% [markdown]
# SE-ResNet-50 is ResNet-50 with this block in every bottleneck's attention slot.

# %%
r50 = create("resnet50")
se_r50 = create("resnet50", attention="seblock")
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-50 {count(r50):,} params; SE-ResNet-50 {count(se_r50):,} (+{count(se_r50) - count(r50):,})")
