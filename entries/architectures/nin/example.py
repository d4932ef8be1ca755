# %% [markdown]
# # Network In Network: mlpconv layers and a classifier without weights
#
# Build the authors' CIFAR-10 NIN, check that it has no fully connected layer, see that the scores are
# spatial means of one map per class, and verify that a 1x1 convolution is an MLP applied at every pixel.

# %%
import torch
from torch import nn

from encyclo import create, module

model = create("nin_cifar10").eval()
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"parameters: {count(model):,d}   nn.Linear layers: {sum(isinstance(m, nn.Linear) for m in model.modules())}")
for i, block in enumerate(m for m in model.features if isinstance(m, module('nin').MLPConv)):
    convs = [c for c in block if isinstance(c, nn.Conv2d)]
    desc = " -> ".join(f"{c.kernel_size[0]}x{c.kernel_size[1]}/{c.out_channels}" for c in convs)
    print(f"mlpconv {i + 1}: {desc:28s} params {count(block):8,d}")

# %% [markdown]
# Global average pooling: the class scores are exactly the means of the last layer's ten maps.

# %%
torch.manual_seed(0)
x = torch.randn(2, 3, 32, 32)
with torch.no_grad():
    maps = model.forward_features(x)
    scores = model(x)
print("class maps:", tuple(maps.shape), "  scores:", tuple(scores.shape))
print("max |score - map mean|:", (scores - maps.mean((2, 3))).abs().max().item())

# %% [markdown]
# A 1x1 convolution is one fully connected layer shared over positions (Sec. 3.1): copy its weights into an
# `nn.Linear` and apply that to every pixel's channel vector.

# %%
conv = nn.Conv2d(192, 160, 1)
linear = nn.Linear(192, 160)
linear.weight.data, linear.bias.data = conv.weight.data.flatten(1), conv.bias.data
f = torch.randn(1, 192, 8, 8)
with torch.no_grad():
    diff = (conv(f) - linear(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)).abs().max().item()
print(f"1x1 conv vs per-pixel linear layer: max difference {diff:.2e}")
