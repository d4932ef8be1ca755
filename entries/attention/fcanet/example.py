# %% [markdown]
# # FcaNet: squeezing channels with DCT frequencies
#
# SE squeezes each channel to its mean (GAP). FcaNet shows that GAP is the lowest-frequency 2-D DCT
# component and squeezes channel groups with several DCT frequencies instead, at SE's parameter cost.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
fca = create("fcanet", channels=256)  # r = 16, top-16 frequencies, 7 x 7 DCT
count = lambda m: sum(p.numel() for p in m.parameters())
print("params", count(fca), "| SE params", count(create("seblock", channels=256)), "(SE's FCs carry biases)")
print("frequencies (u, v):", fca.freqs)

# %% [markdown]
# The (0, 0) basis image is constant, so that component is GAP times sqrt(H W) = 7 on a 7 x 7 map.

# %%
x = torch.randn(2, 256, 7, 7) + 1.0
dc = fca.compress(x)[:, :16]  # channels 0..15 use frequency (0, 0)
print("Freq(0,0) / GAP:", (dc / x.mean(dim=(2, 3))[:, :16]).mean().item())

# %% [markdown]
# Higher frequencies respond to patterns, not to the mean: a horizontal cosine of frequency u = 6 leaves
# GAP at zero but lights up the channels that use the (6, 0) basis.

# %%
i = torch.arange(7.0)
wave = torch.cos(torch.pi * 6 * (i + 0.5) / 7)[:, None].expand(7, 7)
xw = wave.expand(1, 256, 7, 7)
y = fca.compress(xw)[0]
print(f"GAP of the wave {xw.mean():+.3f}; components of groups (0,0) {y[0]:+.3f}, (6,0) {y[32]:+.3f}")

# %% [markdown]
# At any input size the map is first adaptively pooled to the DCT size; in a ResNet-50 FcaNet adds
# exactly SE's FC weights.

# %%
print("56 x 56 input ->", tuple(fca(torch.randn(1, 256, 56, 56)).shape))
r50 = create("resnet50")
print(f"ResNet-50 {count(r50):,}; FcaNet-50 {count(create('resnet50', attention='fcanet')):,}")
