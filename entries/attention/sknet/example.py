# %% [markdown]
# # Selective Kernel: each channel picks its receptive field
#
# Build an SK convolution (SK[2, 32, 16], L = 32), look at the per-channel choice between its 3x3 and
# dilated-3x3 (5x5) branches, and see how the choice moves when the same pattern is shown larger.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
sk = create("sknet", channels=256).eval()
count = sum(p.numel() for p in sk.parameters())
print(f"SK[2, 32, 16] at C = 256: {count:,} params, fuse dim d = max(256/16, 32) = {sk.fuse_dim}")

# %% [markdown]
# The select step is a softmax across the two branches for every channel (Eq. 5): the weights sum to one.

# %%
x = torch.randn(4, 256, 28, 28)
with torch.no_grad():
    a = sk.attention(x)  # (N, M, C)
print("select weights", tuple(a.shape), "| sum over branches:", a.sum(1).min().item(), a.sum(1).max().item())
print("mean weight on the dilated (5x5) branch per image:", [round(v, 3) for v in a[:, 1].mean(1).tolist()])

# %% [markdown]
# The gate depends on the input. A random block does not know about object scale yet, but the weights
# already differ between a fine and a coarse version of the same texture (the paper reports
# that trained SKNets put more weight on the 5x5 kernel as objects grow).

# %%
fine = torch.randn(1, 256, 7, 7).repeat_interleave(4, -1).repeat_interleave(4, -2)  # 28x28, blobs of 4
coarse = torch.randn(1, 256, 4, 4).repeat_interleave(7, -1).repeat_interleave(7, -2)  # 28x28, blobs of 7
with torch.no_grad():
    for name, img in [("fine", fine), ("coarse", coarse)]:
        print(f"{name:6s} pattern: mean 5x5 weight {sk.attention(img)[0, 1].mean():.4f}")

# %% [markdown]
# It fills the attention slot of a ResNet (after the last BN of each residual branch; SKNet itself
# replaces the 3x3 conv of each ResNeXt bottleneck instead).

# %%
r18 = create("resnet18", attention="sknet")
n = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-18 + SK: {n(r18):,} params (+{n(r18) - n(create('resnet18')):,})")
print("logits", tuple(r18.eval()(torch.randn(1, 3, 64, 64)).shape))
