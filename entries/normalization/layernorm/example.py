# %% [markdown]
# # Layer Normalization: statistics per token, not per batch
#
# Normalize a batch of token sequences, check it against `torch.nn.LayerNorm`, and see which
# transformations of the weights and data the layer ignores (the paper's Table 1).

# %%
import torch

from encyclo import create

torch.manual_seed(0)
ln = create("layernorm", dim=64)  # eps = 1e-5, gain g = 1 and bias b = 0 to start (Sec. 6)
x = 3 * torch.randn(2, 5, 64) + 1.5  # (N, L, D): 2 sequences of 5 tokens
y = ln(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in ln.parameters()), "(= 2 x D)")
print(f"per-token mean  before {x.mean(-1).abs().max():.3f}  after {y.mean(-1).abs().max():.1e}")
print(f"per-token std   before {x.std(-1, unbiased=False).mean():.3f}  after {y.std(-1, unbiased=False).mean():.5f}")

# %% [markdown]
# With a random gain and bias copied across, the output matches torch's own kernel to rounding.

# %%
with torch.no_grad():
    ln.weight.normal_()
    ln.bias.normal_()
ref = torch.nn.LayerNorm(64)
ref.load_state_dict(ln.state_dict())  # same parameter names: weight (g) and bias (b)
print(f"max |ours - torch.nn.LayerNorm|: {(ln(x) - ref(x)).abs().max():.1e}")

# %% [markdown]
# Each token is normalized on its own: the batch around it does not matter, and training and
# evaluation compute the same thing (there are no running statistics).

# %%
alone = ln(x[:1])
noisy_batch = torch.cat([x[:1], 100 * torch.randn(7, 5, 64)])
print("sample 0 alone == in a different batch:", torch.allclose(alone, ln(noisy_batch)[:1], atol=1e-6))
print("train == eval:", torch.equal(ln.train()(x), ln.eval()(x)))

# %% [markdown]
# Sec. 5.1: put the layer after a linear map, a = W x, and transform the weights or the data. Layer
# norm ignores re-scaling and re-centering of the whole weight matrix and re-scaling of a single case,
# but not re-scaling one unit's weights or shifting the data.

# %%
W, xs = torch.randn(64, 32, dtype=torch.float64), torch.randn(8, 32, dtype=torch.float64)
ln64 = create("layernorm", dim=64, eps=0.0).double()  # eps = 0: the paper's exact formula
out = lambda W_, x_: ln64(x_ @ W_.T)  # noqa: E731
scale_one_row = torch.ones(64, 1, dtype=torch.float64)
scale_one_row[0] = 3
cases = {
    "weight matrix re-scaling   W' = 3W": out(3 * W, xs),
    "weight matrix re-centering W' = W + 1 g^T": out(W + torch.randn(32, dtype=torch.float64), xs),
    "weight vector re-scaling   w_0' = 3 w_0": out(scale_one_row * W, xs),
    "dataset re-centering       x' = x + c": out(W, xs + torch.randn(32, dtype=torch.float64)),
    "single case re-scaling     x_n' = d_n x_n": out(W, torch.rand(8, 1, dtype=torch.float64) * 4 * xs),
}
reference = out(W, xs)
for name, o in cases.items():
    diff = (o - reference).abs().max().item()
    print(f"{name:44s} max |change| {diff:9.2e}  -> {'invariant' if diff < 1e-9 else 'changes'}")
