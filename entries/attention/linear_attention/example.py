# %% [markdown]
# # Linear attention: softmax replaced by the kernel elu(x) + 1
#
# Check that the cheap right-to-left product is the same function as the quadratic form, that the causal
# version with cumulative sums is the RNN of the paper, and watch the cost grow linearly with L.

# %%
import torch

from encyclo import create, module
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
la = module("linear_attention")
phi = la.elu_feature_map
q, k, v = phi(torch.randn(1, 4, 128, 16)), phi(torch.randn(1, 4, 128, 16)), torch.randn(1, 4, 128, 16)
sim = q @ k.transpose(-2, -1)  # the 128 x 128 matrix linear attention never builds
print("non-causal, linear vs quadratic:", (la.linear_attention(q, k, v) - (sim @ v) / sim.sum(-1, keepdim=True)).abs().max().item())
sim = sim.tril()
print("causal (cumsum) vs masked quadratic:", (la.linear_attention(q, k, v, causal=True) - (sim @ v) / sim.sum(-1, keepdim=True)).abs().max().item())

# %% [markdown]
# The causal form is an RNN: a state S (d_k x d_v) and Z (d_k) updated once per token.

# %%
s, z, outs = torch.zeros(1, 4, 16, 16), torch.zeros(1, 4, 16), []
for i in range(128):
    s = s + k[..., i, :, None] * v[..., i, None, :]
    z = z + k[..., i, :]
    outs.append(torch.einsum("nhd,nhde->nhe", q[..., i, :], s) / (q[..., i, :] * z).sum(-1, keepdim=True))
print("RNN steps vs cumsum form:", (torch.stack(outs, 2) - la.linear_attention(q, k, v, causal=True, eps=0.0)).abs().max().item())

# %% [markdown]
# MACs of one layer (D = 512, h = 8) against softmax multi-head attention as L grows.

# %%
for length in (256, 1024, 4096):
    row = []
    for name in ("linear_attention", "multi_head_attention"):
        macs = count_ops(lambda: create(name, dim=512, num_heads=8),
                         lambda device: (torch.randn(1, length, 512, device=device),), per_module=False).macs
        row.append(macs)
    print(f"L={length:5d}: linear {row[0] / 1e9:6.2f} GMACs   softmax {row[1] / 1e9:6.2f} GMACs")
