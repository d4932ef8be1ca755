# %% [markdown]
# # Inception-v3: factorised convolutions at 299 x 299
#
# Count the network with and without its auxiliary head, follow the three grids (35, 17, 8) of Table 1, and
# measure what the factorisations of Sec. 3 save.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

count = lambda m: sum(p.numel() for p in m.parameters())

for kw in ({}, {"aux_logits": True}):
    with torch.device("meta"):
        model = create("inception_v3", **kw).eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(1, 3, 299, 299, device="meta"))
    print(f"{str(kw):22s} params {count(model):>11,d}   GMACs at 299: {counter.get_total_flops() / 2e9:.3f}")

# %% [markdown]
# The grids of Table 1: 35x35 after the stem, 17x17 after the first reduction, 8x8 after the second.

# %%
with torch.device("meta"):
    model = create("inception_v3").eval()
    x = torch.randn(1, 3, 299, 299)
for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
             "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
             "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
    x = getattr(model, name)(x)
    print(f"{name:14s} -> {tuple(x.shape[1:])}")

# %% [markdown]
# Sec. 3: two 3x3 convolutions see a 5x5 window for 18/25 of the cost, and a 1x7 followed by a 7x1 sees
# a 7x7 window for 14/49. Here are the weights for 192 -> 192 channels.

# %%
C = 192
for k, factorised, what in ((5, 2 * 9, "two 3x3"), (7, 7 + 7, "1x7 + 7x1"), (3, 3 + 3, "1x3 + 3x1")):
    print(f"{k}x{k}: {k * k * C * C:>9,d} weights   {what}: {factorised * C * C:>9,d}  "
          f"({1 - factorised / (k * k):.0%} cheaper)")

# %% [markdown]
# The main path runs down to 75 x 75 (torchvision's minimum). One training step at that size:

# %%
torch.manual_seed(0)
small = create("inception_v3", num_classes=10)
images, labels = torch.randn(2, 3, 75, 75), torch.tensor([3, 8])
loss = nn.functional.cross_entropy(small(images), labels)
loss.backward()
print(f"logits {tuple(small(images).shape)}, loss {loss.item():.3f}")
print("AuxLogits keys in torchvision's checkpoint:",
      len([k for k in create("inception_v3", aux_logits=True, num_classes=10).state_dict() if k.startswith("AuxLogits")]))
