# %% [markdown]
# # scSE: a channel gate and a spatial gate, side by side
#
# Build an scSE block, look at its two gates, and see what the combination does to one feature map.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import create

torch.manual_seed(0)
scse = create("scse", channels=64)  # r = 2, combine="add" (the MICCAI paper)
x = torch.rand(2, 64, 56, 56) + 0.1  # positive, so ratios of outputs are gates
with torch.no_grad():
    y = scse(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in scse.parameters()))

# %% [markdown]
# cSE gives one gate per channel, sSE one gate per pixel; scSE adds the two recalibrated maps, so the
# effective gate `y / x` is their sum and lies in (0, 2).

# %%
with torch.no_grad():
    s_c = scse.channel_gate(x)  # (N, C, 1, 1)
    s_s = scse.spatial_gate(x)  # (N, 1, H, W)
gate = y / x
print("channel gate", tuple(s_c.shape), "| spatial gate", tuple(s_s.shape))
print("y / x == s_c + s_s:", torch.allclose(gate, s_c + s_s, atol=1e-5))
print(f"effective gate range [{gate.min():.3f}, {gate.max():.3f}]")

# %% [markdown]
# The authors' released code combines the two with an element-wise maximum instead.

# %%
scse_max = create("scse", channels=64, combine="max")
scse_max.load_state_dict(scse.state_dict())
with torch.no_grad():
    y_max = scse_max(x)
print(f"max / add output ratio: mean {float((y_max / y).mean()):.3f}")

# %% [markdown]
# Spatial gate of sample 0 next to channel 0 of its input: sSE decides each pixel from that pixel's
# channel vector alone (a 1x1 convolution).

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
axes[0].imshow(x[0, 0].numpy(), cmap="gray")
axes[0].set_title("input, channel 0")
axes[1].imshow(s_s[0, 0].numpy(), cmap="viridis")
axes[1].set_title("sSE gate")
axes[2].bar(np.arange(16), s_c[0, :16, 0, 0].numpy())
axes[2].set_title("cSE gate, channels 0-15")
for ax in axes[:2]:
    ax.axis("off")
plt.tight_layout()
plt.show()
