# %% [markdown]
# # ConvNeXt: a ResNet modernized toward a Transformer
#
# Build ConvNeXt-T, follow the feature map through the patchify stem and the four stages, see where the
# multiply-adds go, and check the layer scale that makes every block start as the identity.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
count = lambda m: sum(p.numel() for p in m.parameters())
model = create("convnext_tiny").eval()
print(f"ConvNeXt-T: {count(model):,} parameters")

# %% [markdown]
# The stem is a 4x4 convolution with stride 4 (a "patchify" layer, like ViT's patch embedding). Between
# stages, an LN and a 2x2 stride-2 convolution halve the resolution and double the width.

# %%
x = torch.randn(1, 3, 224, 224)
names = ["stem", "stage 1", "downsample", "stage 2", "downsample", "stage 3", "downsample", "stage 4"]
with torch.no_grad():
    for name, layer in zip(names, model.features):
        x = layer(x)
        blocks = f"({len(layer)} blocks)" if name.startswith("stage") else ""
        print(f"{name:11s} -> {tuple(x.shape)} {blocks}")

# %% [markdown]
# Multiply-adds by layer type at 224 x 224, from each layer's output shape (on the meta device). The 7x7 depthwise convolutions are
# cheap (49 C per pixel); the inverted-bottleneck linears (8 C^2 per pixel) dominate.

# %%
with torch.device("meta"):
    meta = create("convnext_tiny").eval()
    xm = torch.randn(1, 3, 224, 224)
totals: dict[str, int] = {}
hooks = []
for name, m in meta.named_modules():
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        kind = ("depthwise 7x7" if isinstance(m, nn.Conv2d) and m.groups > 1 else
                "stem / downsample convs" if isinstance(m, nn.Conv2d) else
                "classifier" if name.startswith("classifier") else "pointwise linears (1x1)")

        def hook(mod, inp, out, kind=kind):  # MACs = output elements x multiply-adds per output element
            per_out = (mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
                       if isinstance(mod, nn.Conv2d) else mod.in_features)
            totals[kind] = totals.get(kind, 0) + out.numel() * per_out
        hooks.append(m.register_forward_hook(hook))
meta(xm)
for h in hooks:
    h.remove()
all_macs = sum(totals.values())
for kind, macs in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"{kind:26s} {macs / 1e9:6.3f} GMACs ({100 * macs / all_macs:4.1f} %)")
print(f"{'total':26s} {all_macs / 1e9:6.3f} GMACs (Table 1: 4.5 G; torchvision: 4.456)")

# %% [markdown]
# The Table 1 variants:

# %%
for name in ("convnext_tiny", "convnext_small", "convnext_base", "convnext_large"):
    with torch.device("meta"):
        m = create(name).eval()
    c = FlopCounterMode(display=False)
    with c:
        m(torch.randn(1, 3, 224, 224, device="meta"))
    print(f"{name:15s} {count(m) / 1e6:7.2f} M params  {c.get_total_flops() / 2e9:6.3f} GMACs")

# %% [markdown]
# Layer scale (Sec. 3.1): each block's residual branch is multiplied by a per-channel gamma initialised to
# 1e-6, so at initialization the block adds almost nothing to its input.

# %%
block = model.features[5][0]
x = torch.randn(1, 384, 14, 14)
with torch.no_grad():
    rel = ((block(x) - x).norm() / x.norm()).item()
    branch = (block.block(x).norm() / x.norm()).item()
print(f"gamma = {block.layer_scale.flatten()[0].item():.0e}: |block(x) - x| / |x| = {rel:.2e} "
      f"(the unscaled branch alone: {branch:.2f})")
