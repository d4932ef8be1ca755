# %% [markdown]
# # Switchable Normalization: a learned mixture of IN, LN and BN statistics
#
# Build an SN layer, look at its importance weights, check that its three extremes are Instance, Layer and
# Batch Norm, and watch the weights move when a toy objective prefers one normalizer.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
sn = create("switchable_norm", channels=16)
x = torch.randn(8, 16, 7, 7) * torch.linspace(0.5, 4, 16).reshape(1, 16, 1, 1) + 2
y = sn(x)
print("output", tuple(y.shape), "| params", sum(p.numel() for p in sn.parameters()), "(= 2 x C + 6)")
print("initial weights (IN, LN, BN): means", torch.softmax(sn.mean_weight, 0).detach().numpy().round(3),
      "variances", torch.softmax(sn.var_weight, 0).detach().numpy().round(3))

# %% [markdown]
# Put all the weight on one normalizer (softmax of [-inf, ..., 0, ...]) and compare with torch's layers.

# %%
refs = {0: ("IN", torch.nn.InstanceNorm2d(16)), 1: ("LN", torch.nn.GroupNorm(1, 16, affine=False)),
        2: ("BN", torch.nn.BatchNorm2d(16, affine=False))}
for index, (name, ref) in refs.items():
    one = create("switchable_norm", channels=16)
    with torch.no_grad():
        for p in (one.mean_weight, one.var_weight):
            p.fill_(float("-inf"))
            p[index] = 0.0
    print(f"{name}-only SN vs torch {type(ref).__name__}: max diff {(one(x) - ref(x)).abs().max():.1e}")

# %% [markdown]
# The importance weights are learned by gradient descent with the rest of the network. A toy objective:
# reproduce Instance Norm's output on inputs whose samples and channels have very different offsets and
# scales. Only the IN statistics can do that exactly, so the IN weights should take over.

# %%
sn = create("switchable_norm", channels=16)
target = torch.nn.InstanceNorm2d(16)
opt = torch.optim.SGD([sn.mean_weight, sn.var_weight], lr=2.0)
for step in range(100):
    xb = torch.randn(8, 16, 5, 5) * (torch.rand(8, 16, 1, 1) * 3 + 0.5) + torch.randn(8, 16, 1, 1) * 3
    loss = (sn(xb) - target(xb)).square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step in (0, 99):
        print(f"step {step:3d}: loss {loss.item():.4f}  weights (IN, LN, BN): means",
              torch.softmax(sn.mean_weight, 0).detach().numpy().round(3),
              "variances", torch.softmax(sn.var_weight, 0).detach().numpy().round(3))
