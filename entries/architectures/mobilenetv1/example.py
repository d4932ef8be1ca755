# %% [markdown]
# # MobileNetV1: what a depthwise separable convolution saves
#
# Compare one depthwise separable layer with the standard convolution it replaces, then count the whole
# network at each width multiplier and resolution.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module


def macs(m: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        m(x)
    return counter.get_total_flops() // 2


count = lambda m: sum(p.numel() for p in m.parameters())

# %% [markdown]
# One layer, 512 -> 512 channels on a 14x14 map (the middle of Table 1). Eq. 5 / Eq. 2 predicts the ratio
# 1/N + 1/D_K^2 = 1/512 + 1/9.

# %%
with torch.device("meta"):
    sep = module("mobilenetv1").DepthwiseSeparable(512, 512)
    full = nn.Conv2d(512, 512, 3, padding=1, bias=False)
    x = torch.randn(1, 512, 14, 14)
print(sep)
print(f"standard 3x3 conv: {macs(full, x):,} MACs, {count(full):,} weights")
print(f"depthwise separable: {macs(sep, x):,} MACs, {count(sep):,} parameters (incl. BN)")
print(f"ratio {macs(sep, x) / macs(full, x):.4f}  (Eq. 5: {1 / 512 + 1 / 9:.4f})")

# %% [markdown]
# The whole network through Table 1: the strided depthwise layers halve the map, the pointwise layers
# double the channels.

# %%
torch.manual_seed(0)
model = create("mobilenet_v1").eval()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    for i, layer in enumerate(model.features):
        x = layer(x)
        print(f"features.{i:<2d} {type(layer).__name__:18s} -> {tuple(x.shape)}")

# %% [markdown]
# Width multiplier alpha (Sec. 3.3) and resolution multiplier rho (Sec. 3.4), next to the paper's Table 6.

# %%
paper = {"mobilenet_v1": (569, 4.2), "mobilenet_v1_075": (325, 2.6), "mobilenet_v1_050": (149, 1.3),
         "mobilenet_v1_025": (41, 0.5)}
for name, (m_ref, p_ref) in paper.items():
    with torch.device("meta"):
        m = create(name).eval()
        inp = torch.randn(1, 3, 224, 224)
    print(f"{name:18s} {macs(m, inp) / 1e6:7.1f} M MACs (paper {m_ref}), {count(m) / 1e6:.2f} M params (paper {p_ref})")
for size in (224, 192, 160, 128):
    with torch.device("meta"):
        m = create("mobilenet_v1").eval()
        inp = torch.randn(1, 3, size, size)
    print(f"1.0 MobileNet-{size}: {macs(m, inp) / 1e6:6.1f} M MACs")
