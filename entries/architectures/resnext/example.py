# %% [markdown]
# # ResNeXt: cardinality at constant cost
#
# Build ResNeXt-50 (32x4d), look at its grouped convolutions, and check that the C-path template costs
# what a ResNet-50 costs.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

count = lambda m: sum(p.numel() for p in m.parameters())


def measure(name: str, **kw) -> tuple[int, float]:
    """(parameters, GMACs at 1x3x224x224), built on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        model = create(name, **kw).eval()
        x = torch.randn(1, 3, 224, 224)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return count(model), counter.get_total_flops() / 2e9


# %% [markdown]
# Each stage's grouped 3x3 convolution: C = 32 groups, widths doubling while the map halves (Table 1).

# %%
with torch.device("meta"):
    rx = create("resnext50_32x4d")
for i, stage in enumerate((rx.layer1, rx.layer2, rx.layer3, rx.layer4), start=2):
    conv = stage[0].conv2
    print(f"conv{i}: {len(stage)} blocks, 3x3 width {conv.out_channels:4d}, groups {conv.groups}, "
          f"{conv.out_channels // conv.groups} channels per path, output {stage[0].conv3.out_channels}")

# %% [markdown]
# Same template, different cardinality: C = 1 with d = 64 is ResNet-50; 32x4d costs about the same.

# %%
for label, kw in [("C=1, d=64 (ResNet-50)", dict(cardinality=1, base_width=64)),
                  ("C=2, d=40", dict(cardinality=2, base_width=40)),
                  ("C=8, d=14", dict(cardinality=8, base_width=14)),
                  ("C=32, d=4 (ResNeXt-50)", dict(cardinality=32, base_width=4))]:
    n, g = measure("resnext", **kw)
    print(f"{label:24s} {n / 1e6:6.2f} M params  {g:5.2f} GMACs")
for name in ("resnext101_32x8d", "resnext101_64x4d"):
    n, g = measure(name)
    print(f"{name:24s} {n / 1e6:6.2f} M params  {g:5.2f} GMACs")

# %% [markdown]
# The attention slot: SE-ResNeXt-50 as in the SE paper, one SE block per residual branch.

# %%
n, g = measure("resnext50_32x4d", attention="seblock")
print(f"SE-ResNeXt-50 (32x4d): {n:,} params, {g:.3f} GMACs")

# %%
torch.manual_seed(0)
tiny = create("resnext", layers=[1, 1, 1, 1], num_classes=10).eval()
with torch.no_grad():
    print("logits of a 2x3x64x64 batch:", tuple(tiny(torch.randn(2, 3, 64, 64)).shape))
