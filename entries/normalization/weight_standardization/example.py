# %% [markdown]
# # Weight Standardization: every filter with zero mean and unit variance
#
# Standardize the filters of a convolution, check the moments, compare with the authors' PyTorch layer,
# and see that WS followed by Group Norm does not care about the scale or offset of a filter.

# %%
import torch
import torch.nn.functional as F

from encyclo import create

torch.manual_seed(0)
conv = create("weight_standardization", channels=64)  # 3 x 3, 64 -> 64, no bias
x = torch.randn(2, 64, 16, 16)
print("output", tuple(conv(x).shape), "| params", sum(p.numel() for p in conv.parameters()), "(= 64 x 64 x 3 x 3)")
w = conv.weight.detach().flatten(1)
w_hat = conv.standardized_weight().detach().flatten(1)
print(f"raw filters:          mean in [{w.mean(1).min():+.4f}, {w.mean(1).max():+.4f}], "
      f"std in [{w.std(1, correction=0).min():.4f}, {w.std(1, correction=0).max():.4f}]")
print(f"standardized filters: mean |max| {w_hat.mean(1).abs().max():.1e}, "
      f"std in [{w_hat.std(1, correction=0).min():.5f}, {w_hat.std(1, correction=0).max():.5f}]")

# %% [markdown]
# The authors' PyTorch layer uses `Tensor.std` (1/(I - 1)); with `unbiased=True` this entry matches it.

# %%
official = create("weight_standardization", channels=64, unbiased=True)
official.load_state_dict(conv.state_dict())
wt = official.weight
wt = wt - wt.mean(dim=(1, 2, 3), keepdim=True)
wt = wt / (wt.view(64, -1).std(dim=1).view(-1, 1, 1, 1) + 1e-5)  # authors' code
print(f"max |ours(unbiased) - authors' layer|: {(official(x) - F.conv2d(x, wt, None, 1, 1)).abs().max():.1e}")
print(f"max |paper (1/I) - code (1/(I-1))|:    {(conv(x) - official(x)).abs().max():.3f}")

# %% [markdown]
# Scaling and shifting a filter changes nothing after WS (exactly with eps = 0; eps makes the scale
# of W matter slightly when sigma is tiny): the network only learns filter directions.

# %%
conv = create("weight_standardization", channels=64, eps=0.0)
gn = torch.nn.GroupNorm(32, 64)
before = gn(conv(x))
with torch.no_grad():
    conv.weight.mul_(torch.rand(64, 1, 1, 1) * 10 + 0.1).add_(torch.randn(64, 1, 1, 1))
print(f"GN(WS-conv) change after per-filter affine change of W: {(gn(conv(x)) - before).abs().max():.1e}")
