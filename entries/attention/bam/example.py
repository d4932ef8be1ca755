# %% [markdown]
# # BAM: a channel map plus a spatial map, applied residually
#
# Build a BAM block, look at its two branches and the 3-D map they make, and count what it costs.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
bam = create("bam", channels=256)  # r = 16, dilation d = 4 by default
x = torch.randn(8, 256, 28, 28)
bam.train()
bam(x)  # one training step's forward gives the BatchNorms some running statistics
bam.eval()
with torch.no_grad():
    y = bam(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in bam.parameters()))

# %% [markdown]
# The channel branch $M_c$ (Eq. 3) gives one logit per channel; the spatial branch $M_s$ (Eq. 4) gives one
# logit per pixel. Eq. 2 adds them (broadcast to C x H x W) and applies a sigmoid.

# %%
with torch.no_grad():
    mc = bam.channel_attention(x)  # (N, C, 1, 1)
    ms = bam.spatial_attention(x)  # (N, 1, H, W)
    m = bam.attention(x)  # (N, C, H, W)
print("M_c", tuple(mc.shape), "| M_s", tuple(ms.shape), "| M", tuple(m.shape))
print("M == sigmoid(M_c + M_s):", torch.allclose(m, torch.sigmoid(mc + ms)))
print("y == x + x * M:", torch.allclose(y, x + x * m, atol=1e-6))
print(f"gain 1 + M ranges over [{1 + m.min():.3f}, {1 + m.max():.3f}]")

# %% [markdown]
# Two 3x3 convolutions with dilation 4 give the spatial branch a 17 x 17 receptive field at the cost of
# two 16-channel 3x3 convolutions.

# %%
f = torch.randn(1, 256, 32, 32)
g = f.clone()
g[0, :, 16, 16] += 3.0
with torch.no_grad():
    changed = (bam.spatial_attention(f) - bam.spatial_attention(g)).abs()[0, 0] > 0
rows, cols = changed.nonzero(as_tuple=True)
print(f"a change at (16, 16) moves the spatial map over rows {int(rows.min())}..{int(rows.max())}, "
      f"cols {int(cols.min())}..{int(cols.max())}")

# %% [markdown]
# The paper places three BAMs at ResNet-50's bottlenecks (after the stages of 256, 512 and 1024 channels).
# The encyclo ResNet slot instead puts one in every residual branch.

# %%
count = lambda mod: sum(p.numel() for p in mod.parameters())
r50 = create("resnet50")
three = sum(count(create("bam", channels=c)) for c in (256, 512, 1024))
print(f"ResNet-50 {count(r50):,}; + 3 BAMs at the bottlenecks {count(r50) + three:,} (+{three:,})")
print(f"ResNet-50 with BAM in every block: {count(create('resnet50', attention='bam')):,}")
