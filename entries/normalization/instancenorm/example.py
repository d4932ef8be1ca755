# %% [markdown]
# # Instance Normalization: statistics per image and per channel
#
# Normalize feature maps with IN, check it against `torch.nn.InstanceNorm2d`, see that it discards
# each image's contrast (the paper's motivation, Sec. 2), and compare it with Batch Norm.

# %%
import torch

from encyclo import create, sample_image

torch.manual_seed(0)
norm = create("instancenorm", channels=64)  # affine=False by default, like torch
x = torch.randn(2, 64, 14, 10) * torch.linspace(0.5, 4, 64)[:, None, None] + 3  # channels of varied scale
y = norm(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in norm.parameters()))
print(f"per-(sample, channel) mean |max| {y.mean((2, 3)).abs().max():.1e}, "
      f"std in [{y.std((2, 3), unbiased=False).min():.4f}, {y.std((2, 3), unbiased=False).max():.4f}]")

# %% [markdown]
# Parity with torch's kernel, without and with the optional per-channel affine.

# %%
ref = torch.nn.InstanceNorm2d(64)
print(f"max |ours - torch.nn.InstanceNorm2d|            : {(norm(x) - ref(x)).abs().max():.1e}")
norm_affine = create("instancenorm", channels=64, affine=True)
with torch.no_grad():
    norm_affine.weight.normal_()
    norm_affine.bias.normal_()
ref_affine = torch.nn.InstanceNorm2d(64, affine=True)
ref_affine.load_state_dict(norm_affine.state_dict())
print(f"max |ours - torch.nn.InstanceNorm2d(affine)|    : {(norm_affine(x) - ref_affine(x)).abs().max():.1e}")

# %% [markdown]
# Sec. 2: "the result of stylization should not, in general, depend on the contrast of the content
# image". Lower the contrast of a photo (and brighten it); after IN the two are the same.

# %%
img = torch.from_numpy(sample_image("astronaut")).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)
low_contrast = 0.3 * img + 0.5
rgb = create("instancenorm", channels=3)
print(f"images differ by up to {(img - low_contrast).abs().max():.2f}; "
      f"after IN by {(rgb(img) - rgb(low_contrast)).abs().max():.1e}")
# The small residual is eps = 1e-5 next to the low-contrast channels' variance (~0.005); without eps only the float32 rounding of the inputs is left.
rgb0 = create("instancenorm", channels=3, eps=0.0).double()
print(f"with eps = 0 (float64): {(rgb0(img.double()) - rgb0(low_contrast.double())).abs().max():.1e}")

# %% [markdown]
# Batch Norm in training mode mixes the batch: a sample's output depends on its neighbours. IN does
# not, and it computes the same thing in training and evaluation (no running statistics).

# %%
bn = torch.nn.BatchNorm2d(64).train()
with torch.no_grad():
    batch_a = torch.cat([x[:1], torch.randn(1, 64, 14, 10)])
    batch_b = torch.cat([x[:1], 5 * torch.randn(1, 64, 14, 10) - 2])
    print(f"BatchNorm:     sample 0 changes by {(bn(batch_a)[0] - bn(batch_b)[0]).abs().max():.3f} between batches")
    print(f"InstanceNorm:  sample 0 changes by {(norm(batch_a)[0] - norm(batch_b)[0]).abs().max():.1e} between batches")
