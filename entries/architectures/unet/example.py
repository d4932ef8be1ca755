# %% [markdown]
# # U-Net: from a 572 x 572 tile to a 388 x 388 segmentation
#
# Follow Fig. 1's network (unpadded convolutions) through its contracting and expanding paths on the meta
# device, count its parameters, then train a narrow "same"-padded U-Net to segment a synthetic image.

# %%
import torch
from torch import nn

from encyclo import create, module

unet = module("unet")
with torch.device("meta"):
    model = create("unet_valid")
    x = torch.randn(1, 1, 572, 572)
    skips = []
    for i, block in enumerate(model.down):
        x = block(x)
        skips.append(x)
        print(f"down {i + 1}: {tuple(x.shape[1:])}")
        x = model.pool(x)
    x = model.bottom(x)
    print(f"bottom: {tuple(x.shape[1:])}")
    for i, (up, block, skip) in enumerate(zip(model.up, model.up_convs, reversed(skips))):
        x = up(x)
        x = block(torch.cat([unet.center_crop(skip, x.shape[-2], x.shape[-1]), x], 1))
        print(f"up {4 - i}: {tuple(x.shape[1:])}  (skip {skip.shape[-1]} cropped to {x.shape[-1] + 4})")
    print("output:", tuple(model.head(x).shape[1:]))
print(f"parameters: {sum(p.numel() for p in model.parameters()):,d}")
print("legal valid tiles:", [s for s in range(180, 400) if unet.valid_output_size(s)],
      "->", [unet.valid_output_size(s) for s in range(180, 400) if unet.valid_output_size(s)])

# %% [markdown]
# A narrow U-Net with same padding learns to segment bright discs on a noisy background. About 7 % of the
# pixels are foreground; the net first predicts background everywhere, then finds the discs.

# %%
torch.manual_seed(0)
yy, xx = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
masks = []
for cy, cx, r in ((12, 14, 7), (30, 34, 9), (20, 30, 5), (36, 12, 8)):
    masks.append(((yy - cy) ** 2 + (xx - cx) ** 2 < r * r).long())
target = torch.stack(masks)  # (4, 48, 48)
images = (target.float() + 0.6 * torch.randn(4, 48, 48)).unsqueeze(1)
small = create("unet", base_width=8)
opt = torch.optim.Adam(small.parameters(), lr=3e-3)
for step in range(100):
    loss = nn.functional.cross_entropy(small(images), target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 25 == 0:
        print(f"step {step:3d}: loss {loss.item():.3f}")
pred = small(images).argmax(1)
iou = ((pred == 1) & (target == 1)).sum() / ((pred == 1) | (target == 1)).sum()
print(f"loss {loss.item():.3f}   foreground IoU {iou.item():.2f}   output {tuple(small(images).shape)}")
