# %% [markdown]
# # RMSNorm: re-scaling without re-centering
#
# Normalize token vectors by their root mean square, check against `torch.nn.RMSNorm`, and measure
# which transformations of the weights and data the layer ignores (Table 1), next to LayerNorm.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
norm = create("rmsnorm", dim=64)  # gain g = 1; eps = machine epsilon of float32, as torch.nn.RMSNorm
x = 3 * torch.randn(2, 5, 64) + 1.5  # (N, L, D): 2 sequences of 5 tokens
y = norm(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in norm.parameters()), "(= D, no bias)")
print(f"per-token RMS   before {x.square().mean(-1).sqrt().mean():.3f}  after {y.square().mean(-1).sqrt().mean():.6f}")
print(f"per-token mean  before {x.mean(-1).mean():.3f}  after {y.mean(-1).mean():.3f}   (not re-centered)")

# %% [markdown]
# With a random gain copied across, the output matches torch's kernel.

# %%
with torch.no_grad():
    norm.weight.normal_()
ref = torch.nn.RMSNorm(64)
ref.load_state_dict(norm.state_dict())  # same parameter name: weight (g)
print(f"max |ours - torch.nn.RMSNorm|: {(norm(x) - ref(x)).abs().max():.1e}")

# %% [markdown]
# Table 1: put the layer after a linear map, a = W x, and transform the weights or the data.
# RMSNorm keeps LayerNorm's re-scaling invariances but loses invariance to re-centering the weight matrix.

# %%
W, xs = torch.randn(64, 32, dtype=torch.float64), torch.randn(8, 32, dtype=torch.float64)
norms = {name: create(name, dim=64, eps=0.0).double() for name in ("rmsnorm", "layernorm")}  # eps = 0: exact
scale_one_row = torch.ones(64, 1, dtype=torch.float64)
scale_one_row[0] = 3
cases = {
    "weight matrix re-scaling   W' = 3W": lambda: (3 * W, xs),
    "weight matrix re-centering W' = W + 1 g^T": lambda: (W + torch.randn(32, dtype=torch.float64), xs),
    "weight vector re-scaling   w_0' = 3 w_0": lambda: (scale_one_row * W, xs),
    "dataset re-scaling         x' = 3 x": lambda: (W, 3 * xs),
    "dataset re-centering       x' = x + c": lambda: (W, xs + torch.randn(32, dtype=torch.float64)),
    "single case re-scaling     x_n' = d_n x_n": lambda: (W, (torch.rand(8, 1, dtype=torch.float64) * 4 + 0.1) * xs),
}
print(f"{'':44s} {'RMSNorm':>10s} {'LayerNorm':>10s}")
with torch.no_grad():
    for case, make in cases.items():
        W2, x2 = make()
        verdicts = []
        for n in norms.values():
            diff = (n(x2 @ W2.T) - n(xs @ W.T)).abs().max().item()
            verdicts.append("invariant" if diff < 1e-9 else "changes")
        print(f"{case:44s} {verdicts[0]:>10s} {verdicts[1]:>10s}")
