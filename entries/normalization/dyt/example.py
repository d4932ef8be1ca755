# %% [markdown]
# # Dynamic Tanh: a normalization layer without statistics
#
# DyT(x) = gamma * tanh(alpha * x) + beta replaces LayerNorm in a Transformer. We build one, check that
# its output is bounded whatever the input, and see why a tanh can stand in for LayerNorm: over many
# tokens, LN's input-output points form an S-shaped cloud.

# %%
import matplotlib.pyplot as plt
import torch

from encyclo import create

torch.manual_seed(0)
dyt = create("dyt", dim=768)
print(dyt, "| params", sum(p.numel() for p in dyt.parameters()), "(= 2 x 768 + 1)")
print("alpha_0 =", dyt.alpha.item())

# %% [markdown]
# Eq. 1 bounds every output element by |gamma| + |beta|, however large the input: this is how DyT tames
# extreme activations without computing a mean or a variance.

# %%
with torch.no_grad():
    dyt.weight.normal_()
    dyt.bias.normal_()
x = torch.randn(2, 16, 768) * torch.logspace(-2, 6, 16)[None, :, None]  # tokens spanning 8 orders of magnitude
y = dyt(x)
bound = dyt.weight.abs() + dyt.bias.abs()
print(f"max |x| = {x.abs().max():.1e}, max |y| / (|gamma| + |beta|) = {(y.abs() / bound).max():.4f}")

# %% [markdown]
# LayerNorm maps each token linearly (slope 1/sigma of that token), but tokens have different sigmas:
# tokens with large activations get flattened. Over many tokens the points (x, LN(x)) trace an S-curve,
# which tanh(alpha x) follows. Here tokens have heavy-tailed scales, like the deep layers of a ViT.

# %%
tokens = torch.randn(256, 128) * torch.exp(torch.randn(256, 1))  # per-token scales vary
ln = torch.nn.functional.layer_norm(tokens, (128,))
xs, ys = tokens.flatten(), ln.flatten()
alphas = torch.linspace(0.05, 3, 60)
errors = torch.stack([((torch.tanh(a * xs) / torch.tanh(a * xs).std() * ys.std()) - ys).pow(2).mean() for a in alphas])
best = alphas[errors.argmin()]
scale = ys.std() / torch.tanh(best * xs).std()
print(f"best alpha for this layer: {best:.2f}; mean squared gap LN vs {scale:.2f} * tanh(alpha x): "
      f"{errors.min():.3f} (LN output variance {ys.var():.2f})")

fig, ax = plt.subplots(figsize=(5, 4))
idx = torch.randperm(xs.numel())[:20000]
ax.scatter(xs[idx], ys[idx], s=1, alpha=0.3, label="LayerNorm (x, LN(x))")
grid = torch.linspace(float(xs.min()), float(xs.max()), 400)
ax.plot(grid, scale * torch.tanh(best * grid), "r", label=f"{scale:.2f} tanh({best:.2f} x)")
ax.set_xlabel("input x")
ax.set_ylabel("output")
ax.legend()
ax.set_title("LN's S-shaped input-output cloud vs DyT")
plt.tight_layout()
plt.show()
