# %% [markdown]
# # MobileNetV2: inverted residuals, block by block
#
# Build MobileNetV2, look inside one inverted residual block, follow the feature map through Table 2,
# and count what the width multiplier costs.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, entry

torch.manual_seed(0)
model = create("mobilenet_v2").eval()
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"MobileNetV2 1.0: {count(model):,} parameters")

# %% [markdown]
# One block with a shortcut (the second of the 24-channel row): 1x1 expansion to 6 x 24 = 144 channels,
# 3x3 depthwise (`groups=144`), then a 1x1 projection back to 24 channels followed by BN and *no* ReLU6
# (the linear bottleneck).

# %%
block = model.features[3]
print(block)
print("shortcut:", block.use_res_connect)

# %% [markdown]
# The feature map through the network (Table 2): the stride-2 rows halve the resolution, and the
# channels grow from 16 to 320 before the final 1x1 convolution to 1280.

# %%
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    for i, layer in enumerate(model.features):
        x = layer(x)
        kind = type(layer).__name__
        extra = f"t={layer.expand_ratio} s={layer.stride} shortcut={layer.use_res_connect}" \
            if kind == "InvertedResidual" else ""
        print(f"features.{i:<2d} {kind:16s} -> {tuple(x.shape)} {extra}")


# %% [markdown]
# Multiply-adds and parameters for each width multiplier, counted on the meta device, next to the
# authors' TF-slim checkpoint table. The last column counts parameters the way TF-slim does (1001
# classes, no BN parameters), which gives its 3.47 M instead of torchvision's 3,504,872.

# %%
def measure(name: str, size: int = 224) -> tuple[int, int, int]:
    with torch.device("meta"):
        m = create(name).eval()
        m1001 = create(name, num_classes=1001)
        inp = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter:
        m(inp)
    bn = sum(p.numel() for mod in m1001.modules() if isinstance(mod, nn.BatchNorm2d) for p in mod.parameters())
    return counter.get_total_flops() // 2, count(m), count(m1001) - bn


tfslim = {"mobilenet_v2_035": (59, 1.66), "mobilenet_v2_050": (97, 1.95), "mobilenet_v2_075": (209, 2.61),
          "mobilenet_v2": (300, 3.47), "mobilenet_v2_130": (509, 5.34), "mobilenet_v2_140": (582, 6.06)}
print(f"{'variant':18s} {'MMACs':>8s} {'TF-slim':>8s} {'params':>11s} {'TF-slim count':>14s} {'TF-slim':>8s}")
for name, (macs_ref, params_ref) in tfslim.items():
    macs, params, slim = measure(name)
    print(f"{name:18s} {macs / 1e6:8.1f} {macs_ref:8d} {params:11,d} {slim:14,d} {params_ref:7.2f}M")

# %% [markdown]
# Resolution scales the multiply-adds (roughly with the number of pixels), not the parameters.

# %%
for size in (224, 192, 160, 128, 96):
    print(f"{size}x{size}: {measure('mobilenet_v2', size)[0] / 1e6:6.1f} M MACs")

# %% [markdown]
# The classifier uses torchvision's preprocessing: resize 256, center-crop 224, ImageNet mean and std.
# A torchvision checkpoint loads as is:
# `model.load_state_dict(torch.load("mobilenet_v2-b0353104.pth", weights_only=True))` (nothing is downloaded here).

# %%
print(entry("mobilenetv2").preprocess)
print(f"{len(model.state_dict())} state-dict entries, e.g. {list(model.state_dict())[:3]}")
