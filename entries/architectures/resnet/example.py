# %% [markdown]
# # ResNet: residual blocks, stage by stage
#
# Build a ResNet-50, watch the feature map shrink through the four stages of Table 1, put attention
# blocks into its residual branches, and run the ImageNet preprocessing on a photo.

# %%
import numpy as np
import torch
import cv2
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, entries, entry, sample_image

torch.manual_seed(0)
r50 = create("resnet50").eval()  # bottleneck blocks, layers [3, 4, 6, 3], torchvision v1.5 strides
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-50: {count(r50):,} parameters")

# %% [markdown]
# Forward hooks on the stem and the four stages show Table 1's "output size" column: the stem divides
# 224 by 4, then conv3_1, conv4_1 and conv5_1 each halve it while the channels double.

# %%
shapes = {}
stages = {"stem (conv1 + pool)": r50.maxpool, "conv2_x (layer1)": r50.layer1, "conv3_x (layer2)": r50.layer2,
          "conv4_x (layer3)": r50.layer3, "conv5_x (layer4)": r50.layer4}
hooks = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
         for name, m in stages.items()]
with torch.no_grad():
    logits = r50(torch.randn(1, 3, 224, 224))
for h in hooks:
    h.remove()
for name, shape in shapes.items():
    print(f"{name:20s} {shape}")
print(f"{'fc':20s} {tuple(logits.shape)}")


# %% [markdown]
# Multiply-adds at 224 x 224, counted on the meta device (no memory, no compute). The default strides
# ("v1.5", torchvision) put the stride-2 on the 3x3 convolution; `stride_in_1x1=True` puts it on the first
# 1x1 convolution as in the authors' released models, which is what Table 1's 3.8 x 10^9 counts.

# %%
def measure(name: str, **kw) -> tuple[float, int]:
    """(GMACs at 1x3x224x224, parameters) of create(name, **kw), built on the meta device."""
    with torch.device("meta"):
        model = create(name, **kw).eval()
        x = torch.randn(1, 3, 224, 224)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return counter.get_total_flops() / 2 / 1e9, count(model)


print(f"ResNet-50 with the default v1.5 strides: {measure('resnet50')[0]:.3f} GMACs (torchvision: 4.089)")
table1 = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}
for name, paper in table1.items():
    v1 = {"stride_in_1x1": True} if entry("resnet").variants[name]["block"] == "bottleneck" else {}
    g, n = measure(name, **v1)
    print(f"{name:10s} {g:6.3f} GMACs (Table 1: {paper:4.1f})   {n / 1e6:6.2f} M params   {'v1 strides' if v1 else ''}")

# %% [markdown]
# The attention slot: every residual block applies `attn_layer(out_channels)` to its residual branch,
# after the last BN and before the addition. `create("resnet50", attention=...)` fills it with any
# attention entry of the registry.

# %%
for block in [e.id for e in entries(category="attention") if e.id in ("seblock", "cbam", "eca")]:
    g, n = measure("resnet50", attention=block)
    print(f"ResNet-50 + {block:8s} {n:,} params (+{n - count(r50):,}), {g:.3f} GMACs")

# %% [markdown]
# Preprocessing, from the entry's `preprocess` fields: resize the short side to 256 (bilinear), crop
# the central 224 x 224, scale to [0, 1] and normalise with the ImageNet mean and std.

# %%
pre = entry("resnet").preprocess
print(pre)
image = sample_image("chelsea")  # (H, W, 3) uint8 RGB
h, w = image.shape[:2]
scale = pre["resize"] / min(h, w)
resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
top = (resized.shape[0] - pre["input_size"]) // 2
left = (resized.shape[1] - pre["input_size"]) // 2
crop = resized[top:top + pre["input_size"], left:left + pre["input_size"]]
x = (crop.astype(np.float32) / 255.0 - np.array(pre["mean"], np.float32)) / np.array(pre["std"], np.float32)
x = torch.from_numpy(x).permute(2, 0, 1)[None]  # (1, 3, 224, 224)
print(f"image {image.shape} -> resized {resized.shape} -> crop {crop.shape} -> tensor {tuple(x.shape)}")
print(f"per-channel mean after normalisation: {x.mean(dim=(0, 2, 3)).numpy().round(2)}")

# %% [markdown]
# Classification with **random** weights: the pipeline runs end to end, but the prediction means nothing
# until trained weights are loaded. A torchvision checkpoint loads as is, e.g.
# `r50.load_state_dict(torch.load("resnet50-0676ba61.pth", weights_only=True))` (this page downloads nothing).

# %%
with torch.no_grad():
    probs = r50(x).softmax(dim=1)[0]
top5 = probs.topk(5)
print("top-5 class indices:", top5.indices.tolist())
print("probabilities:      ", [round(p, 4) for p in top5.values.tolist()], "(random weights: not about the cat)")
