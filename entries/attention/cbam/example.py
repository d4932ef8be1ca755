# %% [markdown]
# # CBAM: a channel gate, then a spatial gate
#
# Build a CBAM block, look at its two gates, and drop it into a ResNet-50.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
cbam = create("cbam", channels=64).eval()  # r = 16, 7x7 spatial kernel by default
x = torch.rand(2, 64, 56, 56) + 0.1  # positive, so ratios of outputs are the gates
with torch.no_grad():
    y = cbam(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in cbam.parameters()))

# %% [markdown]
# The channel gate $M_c$ (Eq. 2) is one value per (sample, channel); the spatial gate $M_s$ (Eq. 3) is one
# value per (sample, pixel), shared by all channels. The block's output is $x \cdot M_c \cdot M_s$.

# %%
with torch.no_grad():
    mc = cbam.channel_gate(x)  # (N, C, 1, 1)
    refined = x * mc  # F'
    ms = cbam.spatial_gate(refined)  # (N, 1, H, W)
print("channel gate", tuple(mc.shape), "first 6:", [round(v, 3) for v in mc[0, :6, 0, 0].tolist()])
print("spatial gate", tuple(ms.shape), f"range [{ms.min():.3f}, {ms.max():.3f}]")
print("y == x * Mc * Ms:", torch.allclose(y, refined * ms, atol=1e-6))

# %% [markdown]
# The channel gate reads the maximum as well as the mean: raising one pixel of channel 0 while lowering
# another by the same amount keeps the channel's mean, yet moves its gate.

# %%
x2 = x.clone()
flat = x2.view(2, 64, -1)
flat[0, 0, flat[0, 0].argmax()] += 2.0
flat[0, 0, flat[0, 0].argmin()] -= 2.0
with torch.no_grad():
    print("mean unchanged:", torch.allclose(x2.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-5),
          f"| gate of channel 0: {mc[0, 0, 0, 0]:.4f} -> {cbam.channel_gate(x2)[0, 0, 0, 0]:.4f}")

# %% [markdown]
# CBAM-ResNet-50 is ResNet-50 with this block in every bottleneck's attention slot; the paper reports
# 28.09M parameters (Table 4).

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50, cbam_r50 = create("resnet50"), create("resnet50", attention="cbam")
print(f"ResNet-50 {count(r50):,} params; CBAM-ResNet-50 {count(cbam_r50):,} (+{count(cbam_r50) - count(r50):,})")
