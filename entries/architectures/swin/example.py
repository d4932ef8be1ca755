# %% [markdown]
# # Swin Transformer: attention in shifted windows
#
# See how a feature map is cut into 7 x 7 windows, how the cyclic shift and its mask give the shifted
# windows, how the four stages shrink the map, and why the cost stays linear in the image size.

# %%
import matplotlib.pyplot as plt
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module

swin = module("swin")
count = lambda m: sum(p.numel() for p in m.parameters())

# %% [markdown]
# The shift mask (Sec. 3.2, Fig. 4) for a 14 x 14 map with M = 7 and shift 3: after rolling the map, the
# windows at the bottom and right hold pixels from up to four regions. Different regions may not attend to
# each other (−100, dark). Window 0 is unaffected; window 3 (bottom right) mixes four regions.

# %%
mask = swin.shift_attention_mask(14, 14, 7, 3, 3, torch.device("cpu"))  # (4 windows, 49, 49)
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for i, ax in enumerate(axes):
    ax.imshow(mask[i], cmap="gray", vmin=-100, vmax=0)
    ax.set_title(f"window {i}: {int((mask[i] == 0).sum())} of 2401 pairs allowed")
    ax.axis("off")
plt.tight_layout()
plt.show()
print("allowed pairs per window:", [(mask[i] == 0).sum().item() for i in range(4)])

# %% [markdown]
# Stage by stage at 224 x 224 for Swin-T (channels last inside the network): 4x4 patches, then patch
# merging halves the map and doubles the channels, as in a ResNet.

# %%
with torch.device("meta"):
    model = create("swin_t").eval()
    x = torch.randn(1, 3, 224, 224)
names = ["patch embed", "stage 1", "merge", "stage 2", "merge", "stage 3", "merge", "stage 4"]
for name, layer in zip(names, model.features):
    x = layer(x)
    print(f"{name:12s} -> {tuple(x.shape)}")


# %% [markdown]
# Cost against image size: window attention grows linearly with the number of tokens (Eq. 1-2 of the
# paper: 4hwC^2 + 2M^2hwC against 4hwC^2 + 2(hw)^2C for global attention). Swin-T's multiply-adds track the pixel count.

# %%
def gmacs(name: str, size: int) -> float:
    with torch.device("meta"):
        m = create(name).eval()
        inp = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter:
        m(inp)
    return counter.get_total_flops() / 2e9


for size in (224, 448, 896):
    print(f"swin_t at {size}: {gmacs('swin_t', size):7.2f} GMACs ({(size / 224) ** 2:4.0f}x the pixels of 224)")
for name in ("swin_t", "swin_s", "swin_b"):
    with torch.device("meta"):
        n = count(create(name))
    print(f"{name}: {n / 1e6:6.2f} M params, {gmacs(name, 224):6.3f} GMACs at 224")

# %% [markdown]
# A small Swin trains on a CPU in seconds: a 2-stage model with 4 x 4 windows on 32 x 32 inputs.

# %%
torch.manual_seed(0)
tiny = create("swin", num_classes=4, embed_dim=16, depths=(2, 2), num_heads=(1, 2), window_size=4)
xb, yb = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
opt = torch.optim.Adam(tiny.parameters(), lr=1e-2)
for step in range(8):
    loss = torch.nn.functional.cross_entropy(tiny(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step}: loss {loss.item():.3f}")
