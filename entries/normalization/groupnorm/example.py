# %% [markdown]
# # Group Normalization: statistics per sample and per group of channels
#
# Normalize a feature map with GN, check it against `torch.nn.GroupNorm`, see that its two extremes
# are Layer Norm and Instance Norm, and compare its batch independence with Batch Norm.

# %%
import torch
import torch.nn.functional as F

from encyclo import create

torch.manual_seed(0)
gn = create("groupnorm", channels=64)  # G = 32 groups of 2 channels by default
x = torch.randn(2, 64, 14, 10) * torch.linspace(0.5, 4, 64)[:, None, None] + 3  # channels of varied scale
y = gn(x)
print("output", tuple(y.shape), "| groups", gn.num_groups, "| params", sum(p.numel() for p in gn.parameters()),
      "(= 2 x C)")
groups = y.reshape(2, 32, -1)
print(f"per-group mean |max| {groups.mean(-1).abs().max():.1e}, "
      f"per-group std in [{groups.std(-1, unbiased=False).min():.4f}, {groups.std(-1, unbiased=False).max():.4f}]")

# %% [markdown]
# With random per-channel gamma and beta copied across, the output matches torch's kernel to rounding.

# %%
with torch.no_grad():
    gn.weight.normal_()
    gn.bias.normal_()
ref = torch.nn.GroupNorm(32, 64)
ref.load_state_dict(gn.state_dict())  # same parameter names: weight (gamma) and bias (beta)
print(f"max |ours - torch.nn.GroupNorm|: {(gn(x) - ref(x)).abs().max():.1e}")

# %% [markdown]
# Sec. 3.1: with G = 1 the statistics cover all of (C, H, W), which is Layer Norm; with G = C they
# cover one channel's (H, W), which is Instance Norm. Anything in between shares statistics within a
# group only.

# %%
xd = x.double()
ln = F.layer_norm(xd, xd.shape[1:])
inorm = F.instance_norm(xd)
for g in (1, 2, 8, 32, 64):
    out = create("groupnorm", channels=64, num_groups=g).double()(xd)
    print(f"G = {g:2d} ({64 // g:2d} channels/group): max |GN - LN| {(out - ln).abs().max():8.2e}   "
          f"max |GN - IN| {(out - inorm).abs().max():8.2e}")

# %% [markdown]
# The reason for GN: a sample's output does not depend on the rest of the batch. Batch Norm in
# training mode gives sample 0 a different output in every batch; GN gives the same one.

# %%
bn = torch.nn.BatchNorm2d(64).train()
gn = create("groupnorm", channels=64)
with torch.no_grad():
    batch_a = torch.cat([x[:1], torch.randn(1, 64, 14, 10)])
    batch_b = torch.cat([x[:1], 5 * torch.randn(1, 64, 14, 10) - 2])
    print(f"BatchNorm: sample 0 changes by {(bn(batch_a)[0] - bn(batch_b)[0]).abs().max():.3f} between batches")
    print(f"GroupNorm: sample 0 changes by {(gn(batch_a)[0] - gn(batch_b)[0]).abs().max():.1e} between batches")
