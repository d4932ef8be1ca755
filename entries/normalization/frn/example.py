# %% [markdown]
# # Filter Response Normalization: per-sample, per-channel normalization with a learned threshold
#
# Normalize a feature map with FRN + TLU, check the equations, and see that a sample's output does not
# depend on its batch, unlike Batch Norm in training.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
frn = create("frn", channels=16)  # gamma = 1, beta = 0, tau = 0 at initialization
with torch.no_grad():
    frn.tau.uniform_(-0.5, 0.5)
x = 3 * torch.randn(8, 16, 10, 10) + 2  # not centred: FRN does not subtract the mean
z = frn(x)
print("output", tuple(z.shape), "| params", sum(p.numel() for p in frn.parameters()), "(= 3 x C: gamma, beta, tau)")
tau = frn.tau.detach().reshape(1, 16, 1, 1)
print(f"min(z - tau) = {(z - tau).min():.3f} (the TLU floor); "
      f"fraction clipped to tau: {(z == tau).float().mean():.2f}")

# %% [markdown]
# Without the TLU and with gamma = 1, beta = 0, each map of x_hat = x / sqrt(nu^2 + eps) has mean square
# nu^2 / (nu^2 + eps), essentially 1, whatever the scale or offset of the input channel.

# %%
plain = create("frn", channels=16, apply_tlu=False)
x_hat = plain(x)
print(f"mean square of x_hat per map: min {x_hat.square().mean((2, 3)).min():.6f}, "
      f"max {x_hat.square().mean((2, 3)).max():.6f}")
print(f"per-map mean of x_hat is NOT zero (no centring): mean {x_hat.mean((2, 3)).mean():.3f}")

# %% [markdown]
# Batch independence: normalize the first sample alone, in its batch, and in a batch of outliers.
# FRN gives the same output each time; Batch Norm in training does not.

# %%
crowd = torch.cat([x[:1], 50 * torch.randn(7, 16, 10, 10)])
bn = create("batchnorm", channels=16)
print(f"FRN: max diff alone vs batch {(frn(x[:1]) - frn(x)[:1]).abs().max():.1e}, "
      f"batch vs outliers {(frn(x)[:1] - frn(crowd)[:1]).abs().max():.1e}")
print(f"BN (train): max diff batch vs outliers {(bn(x)[:1] - bn(crowd)[:1]).abs().max():.2f}")

# %% [markdown]
# With 1 x 1 maps (e.g. after global pooling), nu^2 = x^2 and x_hat = x / sqrt(x^2 + eps) is almost
# sign(x): the reason the paper learns eps there.

# %%
v = torch.tensor([[0.01, 0.3, -2.0]])
for eps in (1e-6, 1e-2, 1.0):
    print(f"eps={eps:g}: x_hat = {create('frn', channels=3, eps=eps, apply_tlu=False)(v).detach().numpy().round(3)}")
learned = create("frn", channels=3, learnable_eps=True)
print("learnable_eps adds", sum(p.numel() for p in learned.parameters()) - 9, "parameter (eps_learned)")
