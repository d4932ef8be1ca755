# %% [markdown]
# # Pre-activation ResNet: a clean identity path
#
# Build the paper's CIFAR ResNet-164, check that a stack of units is exactly "input + sum of residuals"
# (Eq. 4), compare the ImageNet variants with the original ResNet, and plug an attention block into the
# residual branches.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, entries

torch.manual_seed(0)
count = lambda m: sum(p.numel() for p in m.parameters())
r164 = create("preact_resnet164").eval()
print(f"pre-act ResNet-164 (CIFAR-10): {count(r164):,} parameters (paper: 1.7M)")
with torch.no_grad():
    print("logits:", tuple(r164(torch.randn(2, 3, 32, 32)).shape))

# %% [markdown]
# Eq. 4: $x_L = x_l + \sum_i F(x_i)$. Nothing follows the addition in a pre-activation unit, so running the
# identity units of stage 1 one by one and summing their residual branches gives the stage output (up to
# float32 rounding).

# %%
stage = r164.layer1
with torch.no_grad():
    x = stage[0](torch.randn(2, 16, 32, 32))  # the first unit changes 16 -> 64 channels
    residuals, h = [], x
    for unit in stage[1:]:
        r = unit(h) - h  # F(x_i)
        residuals.append(r)
        h = h + r
    direct = stage[1:](x)
print(f"{len(residuals)} units; max |x_L - (x_l + sum F)| = {(direct - (x + sum(residuals))).abs().max():.2e}")


# %% [markdown]
# ImageNet variants: the same convolutions as torchvision's ResNet, so the same multiply-adds; the BNs move
# in front of the convolutions (plus one after the last unit), and the projection shortcuts lose theirs.

# %%
def measure(name: str, size: int = 224, **kw) -> tuple[int, float]:
    with torch.device("meta"):
        model = create(name, **kw)
        x = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return count(model), counter.get_total_flops() / 2 / 1e9


for depth in (18, 34, 50, 101, 152):
    n_pre, g_pre = measure(f"preact_resnet{depth}")
    n_post, g_post = measure(f"resnet{depth}")
    print(f"ResNet-{depth:<3d} pre-act {n_pre:>11,} params {g_pre:6.3f} GMACs | original {n_post:>11,} params "
          f"{g_post:6.3f} GMACs | difference {n_post - n_pre:,}")
n, g = measure("preact_resnet1001", size=32)
print(f"pre-act ResNet-1001 (CIFAR-10): {n:,} parameters, {g:.3f} GMACs at 32x32")
with torch.device("meta"):
    r1001 = create("preact_resnet1001")
weights = sum(p.numel() for m in r1001.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in m.parameters())
print(f"  of which conv + fc weights: {weights:,} (the paper's 10.2M)")

# %% [markdown]
# The attention slot: `attn_layer(channels)` acts on every residual branch before the addition. Any
# attention entry of the registry fills it.

# %%
base = count(create("preact_resnet50"))
for block in [e.id for e in entries(category="attention") if e.id in ("seblock", "cbam", "eca")]:
    n, g = measure("preact_resnet50", attention=block)
    print(f"pre-act ResNet-50 + {block:8s} {n:,} params (+{n - base:,}), {g:.3f} GMACs")
