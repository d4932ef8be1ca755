# %% [markdown]
# # VGG: depth from 3x3 convolutions
#
# Build the four configurations of Table 1, see where the parameters and the multiply-adds sit, and
# follow a 224 x 224 image through VGG-16's five groups. Everything large is built on the meta device
# (no memory, no compute).

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

count = lambda m: sum(p.numel() for p in m.parameters())


def macs(model: nn.Module, size: int = 224) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(1, 3, size, size, device="meta"))
    return counter.get_total_flops() // 2


print(f"{'variant':10s} {'weight layers':>13s} {'params':>13s} {'in FC':>6s} {'GMACs':>7s}")
for name in ("vgg11", "vgg13", "vgg16", "vgg19", "vgg16_bn"):
    with torch.device("meta"):
        model = create(name).eval()
    layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    fc = count(model.classifier) / count(model)
    print(f"{name:10s} {layers:13d} {count(model):13,d} {fc:6.1%} {macs(model) / 1e9:7.3f}")

# %% [markdown]
# The conv stack keeps the resolution (3x3, stride 1, padding 1) and each 2x2 max pool halves it, so a
# 224 x 224 input reaches the classifier as 7x7x512 = 25,088 features.

# %%
with torch.device("meta"):
    vgg16 = create("vgg16").eval()
    x = torch.randn(1, 3, 224, 224)
for i, layer in enumerate(vgg16.features):
    x = layer(x)
    if isinstance(layer, nn.MaxPool2d):
        print(f"after features.{i:<2d} (max pool): {tuple(x.shape)}")
print("classifier input:", tuple(vgg16.avgpool(x).flatten(1).shape))

# %% [markdown]
# Two stacked 3x3 convolutions see 5x5 pixels and three see 7x7, with fewer weights than one large filter
# (Sec. 2.3). Here is that count for C = 512 channels, biases left out.

# %%
C = 512
for k, n in ((5, 2), (7, 3)):
    print(f"{n} x 3x3 convs: {n * 9 * C * C:,} weights   vs one {k}x{k} conv: {k * k * C * C:,}")

# %% [markdown]
# The adaptive 7x7 pool lets the same weights run on other input sizes. A small VGG-11 with a narrow
# classifier trains on 32 x 32 images (random weights, a single step).

# %%
torch.manual_seed(0)
small = create("vgg11_bn", num_classes=10, hidden_features=256)
images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
loss = nn.functional.cross_entropy(small(images), labels)
loss.backward()
print(f"vgg11_bn at 32x32: logits {tuple(small(images).shape)}, loss {loss.item():.3f}")
print("checkpoint keys:", [k for k in create("vgg11", num_classes=10, hidden_features=8).state_dict()][:4], "...")
