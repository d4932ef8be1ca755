# %% [markdown]
# # Batch Renormalization: training activations that match inference
#
# Batch Norm trains on mini-batch statistics and infers with moving averages. Batch Renorm corrects the
# training output with clipped, non-differentiated factors r and d. We check the two limits: Batch Norm
# at r_max = 1, d_max = 0, and training = inference when r and d are not clipped.

# %%
import math

import torch

from encyclo import create

torch.manual_seed(0)
brn = create("batch_renorm", channels=16, r_max=1.0, d_max=0.0)  # the start of the paper's schedule
bn = torch.nn.BatchNorm2d(16)
x = 3 * torch.randn(8, 16, 6, 6) + 2
print(f"r_max=1, d_max=0: max |BRN - BatchNorm2d| in training = {(brn(x) - bn(x)).abs().max():.1e}")
print("params", sum(p.numel() for p in brn.parameters()), "(= 2 x C)  buffers", [k for k, _ in brn.named_buffers()])

# %% [markdown]
# Unclipped r and d turn the mini-batch normalization into the moving-statistics one exactly:
# (x - mu_B) / sigma_B * r + d = (x - mu) / sigma.

# %%
brn = create("batch_renorm", channels=16, r_max=math.inf, d_max=math.inf)
with torch.no_grad():
    brn.running_mean.normal_()
    brn.running_std.uniform_(0.5, 2.0)
for step in range(3):
    xb = (step + 1) * torch.randn(2, 16, 6, 6) + step  # tiny, shifting batches
    inference = brn.eval()(xb)
    training = brn.train()(xb)
    print(f"step {step}: max |train - inference| = {(training - inference).abs().max():.1e}")

# %% [markdown]
# With finite bounds, a batch far from the moving statistics saturates r and d: the training output
# moves only part of the way towards the inference one.

# %%
brn = create("batch_renorm", channels=4, r_max=2.0, d_max=1.0, affine=False)
xb = 10 * torch.randn(4, 4, 5, 5) + 20  # moving stats are still mean 0, std 1
sigma_b = torch.sqrt(xb.var((0, 2, 3), unbiased=False) + brn.eps)
print("unclipped r =", (sigma_b / brn.running_std).numpy().round(2), "-> clipped to", brn.r_max)
print("unclipped d =", ((xb.mean((0, 2, 3)) - brn.running_mean) / brn.running_std).numpy().round(1),
      "-> clipped to", brn.d_max)
y = brn(xb)
print(f"training output per-channel mean {y.mean((0, 2, 3)).numpy().round(3)} (= d_max), "
      f"std {y.std((0, 2, 3), unbiased=False).numpy().round(3)} (= r_max)")
