# %% [markdown]
# # Global Response Normalization: channels compete for a share of the response
#
# GRN (ConvNeXt V2) aggregates each channel into its L2 norm over the image, divides it by the mean over
# channels, and recalibrates the channel with it, through zero-initialised gamma and beta and a residual.

# %%
import torch
import torch.nn.functional as F

from encyclo import create

torch.manual_seed(0)
grn = create("grn", channels=64)
x = torch.randn(2, 64, 14, 14)
print("output", tuple(grn(x).shape), "| params", sum(p.numel() for p in grn.parameters()), "(= 2 x C)")
print("identity at initialization (gamma = beta = 0):", torch.equal(grn(x), x))

# %% [markdown]
# The three steps on a map whose channels have very different strengths: Eq. 1 (aggregate), Eq. 2
# (normalize by the mean over channels), Eq. 3 (calibrate, here with gamma = 1, beta = 0).

# %%
strength = torch.tensor([0.1, 0.5, 1.0, 2.0, 6.0])
x = torch.randn(1, 5, 8, 8) * strength[:, None, None]
gx = torch.linalg.vector_norm(x, dim=(2, 3))[0]  # Eq. 1
nx = gx / (gx.mean() + 1e-6)  # Eq. 2
grn5 = create("grn", channels=5)
with torch.no_grad():
    grn5.gamma.fill_(1.0)
y = grn5(x)
for i in range(5):
    print(f"channel {i}: ||X_i|| = {gx[i]:6.2f}   N = {nx[i]:.3f}   output/input = {(y[0, i] / x[0, i]).mean():.3f}")
print("strong channels are amplified, weak ones relatively suppressed (lateral inhibition)")

# %% [markdown]
# Algorithm 1 is written for channels-last tensors (N, H, W, C), as in the authors' ConvNeXt V2 code. This
# implementation takes (N, C, H, W) and gives the same result.

# %%
with torch.no_grad():
    grn.gamma.normal_()
    grn.beta.normal_()
x = torch.randn(2, 64, 14, 14)
x_nhwc = x.permute(0, 2, 3, 1)
gx = torch.norm(x_nhwc, p=2, dim=(1, 2), keepdim=True)
nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
ref = grn.gamma * (x_nhwc * nx) + grn.beta + x_nhwc
print(f"max |ours (NCHW) - Algorithm 1 (NHWC)|: {(grn(x) - ref.permute(0, 3, 1, 2)).abs().max():.1e}")

# %% [markdown]
# Where it sits in a ConvNeXt V2 block: after the expanding pointwise layer and GELU, in place of
# ConvNeXt V1's LayerScale. A minimal block in NCHW (1x1 convolutions as the pointwise layers):

# %%
dim = 32
dwconv = torch.nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
pw1, pw2 = torch.nn.Conv2d(dim, 4 * dim, 1), torch.nn.Conv2d(4 * dim, dim, 1)
block_grn = create("grn", channels=4 * dim)
x = torch.randn(2, dim, 28, 28)
h = dwconv(x)
h = F.layer_norm(h.permute(0, 2, 3, 1), (dim,), eps=1e-6).permute(0, 3, 1, 2)  # LN over channels
out = x + pw2(block_grn(F.gelu(pw1(h))))
print("ConvNeXt V2 block output", tuple(out.shape))
