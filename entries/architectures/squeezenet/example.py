# %% [markdown]
# # SqueezeNet: AlexNet accuracy from Fire modules
#
# Count where SqueezeNet's 1.2 M parameters sit, compare v1.0 with v1.1, and see how the squeeze layer cuts
# the cost of a Fire module.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module

count = lambda m: sum(p.numel() for p in m.parameters())


def macs(model: nn.Module, size: int = 224) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(1, 3, size, size, device="meta"))
    return counter.get_total_flops() // 2


with torch.device("meta"):
    models = {name: create(name).eval() for name in ("squeezenet1_0", "squeezenet1_1", "alexnet_paper")}
for name, model in models.items():
    print(f"{name:14s} params {count(model):>11,d}  float32 {count(model) * 4 / 2**20:7.2f} MiB  "
          f"GMACs {macs(model) / 1e9:.3f}")
print(f"AlexNet / SqueezeNet parameters: {count(models['alexnet_paper']) / count(models['squeezenet1_0']):.1f}x")
print(f"v1.0 / v1.1 multiply-adds: {macs(models['squeezenet1_0']) / macs(models['squeezenet1_1']):.2f}x")

# %% [markdown]
# A Fire module versus a plain 3x3 convolution with the same input and output channels (fire9: 512 -> 512).
# The 1x1 squeeze to 64 channels and the 1x1 half of the expand layer do most of the saving.

# %%
Fire = module("squeezenet").Fire
fire9 = Fire(512, 64, 256, 256)
plain = nn.Conv2d(512, 512, 3, padding=1)
print(f"fire9: {count(fire9):,} parameters   plain 3x3 conv: {count(plain):,}   ratio {count(plain) / count(fire9):.1f}x")

# %% [markdown]
# The feature map stays large until late (Strategy 3): v1.0 is at 54x54 up to fire4 and at 27x27 up to
# fire8, while v1.1 pools earlier and so costs less.

# %%
for name in ("squeezenet1_0", "squeezenet1_1"):
    x = torch.randn(1, 3, 224, 224, device="meta")
    sizes = []
    for layer in models[name].features:
        x = layer(x)
        if type(layer).__name__ == "Fire":
            sizes.append(f"{x.shape[1]}@{x.shape[-1]}")
    print(f"{name}: fire2..fire9 ->", ", ".join(sizes))

# %% [markdown]
# One training step of v1.1 on small images (conv10 and the global pool take any size >= 17).

# %%
torch.manual_seed(0)
small = create("squeezenet1_1", num_classes=10)
images, labels = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 3])
loss = nn.functional.cross_entropy(small(images), labels)
loss.backward()
print(f"logits {tuple(small(images).shape)}, loss {loss.item():.3f}")
