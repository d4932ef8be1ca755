# %% [markdown]
# # Wide residual networks: width over depth
#
# Build WRN-d-k for CIFAR, compare how depth and width move parameters and compute, and look at the
# ImageNet WRN-50-2 that torchvision ships.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

count = lambda m: sum(p.numel() for p in m.parameters())


def measure(name: str, size: int, **kw) -> tuple[int, float]:
    """(parameters, GMACs at 1x3xSxS) of create(name, **kw), built on the meta device."""
    with torch.device("meta"):
        model = create(name, **kw).eval()
        x = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return count(model), counter.get_total_flops() / 2e9


# %% [markdown]
# Same compute budget spent two ways: deep and thin (k = 1, the pre-activation ResNet layout) against
# shallow and wide. Parameters grow with k^2, depth only linearly.

# %%
for d, k in [(40, 1), (100, 1), (16, 4), (40, 4), (16, 8), (28, 10)]:
    n, g = measure("wrn", 32, style="cifar", depth=d, widen_factor=k, num_classes=10)
    print(f"WRN-{d}-{k:<3d} {(d - 4) // 6:2d} blocks/group  {n / 1e6:6.2f} M params  {g:5.2f} GMACs at 32x32")

# %% [markdown]
# Feature maps of WRN-16-8 on a CIFAR-sized batch: the three groups of Table 1.

# %%
torch.manual_seed(0)
model = create("wrn16_8").eval()
x = torch.randn(4, 3, 32, 32)
with torch.no_grad():
    h = model.conv1(x)
    print("conv1 ", tuple(h.shape))
    for name in ("block1", "block2", "block3"):
        h = getattr(model, name)(h)
        print(name, tuple(h.shape))
    print("logits", tuple(model(x).shape))

# %% [markdown]
# ImageNet: WRN-50-2 doubles the bottleneck interior of ResNet-50.

# %%
for name in ("wide_resnet50_2", "wide_resnet101_2"):
    n, g = measure(name, 224)
    print(f"{name:17s} {n:,} params  {g:.3f} GMACs at 224")
with torch.device("meta"):
    w = create("wide_resnet50_2")
b = w.layer4[2]
print("last block widths:", b.conv1.in_channels, "->", b.conv1.out_channels, "->", b.conv3.out_channels)
n, g = measure("wrn28_10", 32, attention="seblock")
print(f"WRN-28-10 + SE blocks: {n:,} params")
