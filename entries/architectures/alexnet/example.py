# %% [markdown]
# # AlexNet: the 2012 network and torchvision's single-tower version
#
# Build both layouts on the meta device, compare where their parameters and multiply-adds are, follow a
# 224 x 224 image through the paper's layers, and look at local response normalisation.

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


for name in ("alexnet", "alexnet_paper"):
    with torch.device("meta"):
        model = create(name).eval()
    fc = count(model.classifier) / count(model)
    print(f"{name:14s} params {count(model):>11,d}  in FC layers {fc:5.1%}  GMACs {macs(model) / 1e9:.3f}")

# %% [markdown]
# Most of the parameters sit in the fully connected layers, and most of the compute in the convolutions.
# The per-layer outputs of the paper's network reproduce Figure 2's neuron counts, except the first
# layer's (the caption says 253,440).

# %%
with torch.device("meta"):
    paper = create("alexnet_paper").eval()
    x = torch.randn(1, 3, 224, 224)
for i, layer in enumerate(paper.features):
    x = layer(x)
    if isinstance(layer, nn.Conv2d):
        print(f"features.{i:<2d} {type(layer).__name__:9s} groups={layer.groups}  out {tuple(x.shape[1:])}"
              f"  neurons {x[0].numel():,}")

# %% [markdown]
# Local response normalisation divides each activation by a power of the summed squares of its
# neighbours across 5 adjacent maps. A strong response suppresses weaker ones at the same position.

# %%
lrn = create("alexnet_paper", hidden_features=8).features[2]
a = torch.zeros(1, 9, 1, 1)
a[0, :, 0, 0] = torch.tensor([1.0, 1.0, 1.0, 1.0, 40.0, 1.0, 1.0, 1.0, 1.0])
print("activations      ", a.flatten().tolist())
print("after LRN (Sec 3.3)", [round(v, 3) for v in lrn(a).flatten().tolist()])

# %% [markdown]
# The default model (torchvision's layout) trains at small sizes too: one step on 64 x 64 images.

# %%
torch.manual_seed(0)
small = create("alexnet", num_classes=10, hidden_features=256)
images, labels = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 3])
loss = nn.functional.cross_entropy(small(images), labels)
loss.backward()
print(f"logits {tuple(small(images).shape)}, loss {loss.item():.3f}")
