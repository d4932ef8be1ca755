# %% [markdown]
# # LeNet-5: 60,000 parameters, 340,908 connections
#
# Build the network of Sec. II.B, count its parameters layer by layer, look at C3's connection table, and
# train it for a few steps on random "digits". The output layer gives minus the squared distance to a fixed
# +/-1 code per class.

# %%
import torch
from torch import nn

from encyclo import create

model = create("lenet5")
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"{'layer':6s} {'output':>12s} {'params':>7s}")
x = torch.zeros(1, 1, 32, 32)
for name in ("c1", "s2", "c3", "s4", "c5"):
    x = getattr(model, name)(x)
    print(f"{name:6s} {str(tuple(x.shape[1:])):>12s} {count(getattr(model, name)):7,d}")
print(f"{'f6':6s} {'(84,)':>12s} {count(model.f6):7,d}")
print(f"total trainable: {count(model):,d}   (fixed RBF codes: {model.output.centers.numel()} values)")

# %% [markdown]
# Table I: which S2 maps (rows) feed each C3 map (columns). Only 60 of the 96 possible kernels exist.

# %%
mask = model.c3.mask.T.int()
print("    " + " ".join(f"{j:2d}" for j in range(16)))
for i, row in enumerate(mask):
    print(f"{i:2d}  " + " ".join(" X" if v else " ." for v in row))
print("kernels:", int(mask.sum()), "  C3 parameters:", count(model.c3), "  (a full 6->16 conv has 2,416)")

# %% [markdown]
# The paper's model and the usual modern reading (full C3, max pool, ReLU, linear output) both learn a tiny
# batch. The RBF logits start large and negative (squared distances), so the paper's model takes a smaller step.

# %%
torch.manual_seed(0)
images, labels = torch.randn(8, 1, 32, 32), torch.arange(8)
for name, lr in (("lenet5", 1e-3), ("lenet5_modern", 5e-3)):
    net = create(name)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for step in range(12):
        loss = nn.functional.cross_entropy(net(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (net(images).argmax(1) == labels).float().mean().item()
    print(f"{name:14s} params {count(net):6,d}   loss after 12 steps {loss.item():.3f}   train acc {acc:.0%}")
