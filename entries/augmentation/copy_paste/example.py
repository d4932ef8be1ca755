# %% [markdown]
# # Simple Copy-Paste: paste objects, fix what they cover
#
# Build two "instance-segmented" scenes from the sample photos (rough hand-made masks), paste a random
# subset of the source's objects with large scale jittering, and look at the updated masks and the boxes
# recomputed from them. Then use the classification wrapper.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

copy_paste_batch = get("copy_paste")
M = inspect.getmodule(copy_paste_batch)  # copy_paste, apply_copy_paste, sample_copy_paste_params, boxes_from_masks


def square(name: str, side: int = 320) -> np.ndarray:
    image = sample_image(name)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return cv2.resize(image[top:top + s, left:left + s], (side, side), interpolation=cv2.INTER_AREA)


def ellipse_mask(center, axes, side=320) -> torch.Tensor:
    m = np.zeros((side, side), np.uint8)
    cv2.ellipse(m, center, axes, 0, 0, 360, 1, -1)
    return torch.from_numpy(m.astype(bool))


to_tensor = lambda a: torch.from_numpy(a).permute(2, 0, 1).float() / 255  # noqa: E731
main = to_tensor(square("coffee"))
main_masks = torch.stack([ellipse_mask((165, 140), (120, 95)), ellipse_mask((40, 290), (35, 25))])  # cup, corner
main_masks[1] &= ~main_masks[0]
main_labels = torch.tensor([2, 3])
src = to_tensor(square("chelsea"))
src_masks = torch.stack([ellipse_mask((180, 170), (110, 120)), ellipse_mask((60, 60), (40, 40))])  # cat, patch
src_masks[1] &= ~src_masks[0]
src_labels = torch.tensor([1, 4])
names = {1: "cat", 2: "cup", 3: "corner", 4: "patch"}
COLORS = {1: (255, 80, 80), 2: (80, 200, 255), 3: (120, 255, 120), 4: (255, 200, 0)}


def overlay(image, masks, labels, boxes=None):
    canvas = (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).astype(np.uint8).copy()
    tint = canvas.copy()
    for m, lab in zip(masks.numpy(), labels.tolist()):
        tint[m] = COLORS[lab]
    canvas = cv2.addWeighted(canvas, 0.55, tint, 0.45, 0)
    boxes = M.boxes_from_masks(masks) if boxes is None else boxes
    for (x1, y1, x2, y2), lab in zip(boxes.int().tolist(), labels.tolist()):
        cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), COLORS[lab], 2)
        cv2.putText(canvas, names[lab], (x1 + 3, y1 + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, COLORS[lab], 1)
    return canvas


# %% [markdown]
# Each draw: an LSJ scale in [0.1, 2.0], a random placement, and a random subset of the source objects.

# %%
fig, axes = plt.subplots(2, 3, figsize=(12, 8.4))
axes[0, 0].imshow(overlay(main, main_masks, main_labels))
axes[0, 0].set_title("main image (coffee) with its masks", fontsize=9)
axes[1, 0].imshow(overlay(src, src_masks, src_labels))
axes[1, 0].set_title("source image (chelsea) with its masks", fontsize=9)
for k, seed in enumerate([3, 5, 8, 11]):
    g = torch.Generator().manual_seed(seed)
    params = M.sample_copy_paste_params((320, 320), (320, 320), 2, g)
    out, masks, labels, boxes = M.apply_copy_paste(main, main_masks, main_labels, src, src_masks, src_labels, params)
    overlap = int(masks.sum(0).max()) if len(masks) else 0
    print(f"seed {seed}: scale {float(params.scale):.2f}, offset {params.offset.tolist()}, "
          f"pasted {[names[int(v)] for v in src_labels[params.selected]]} -> objects {[names[int(v)] for v in labels]}, "
          f"max masks per pixel {overlap}")
    ax = axes[k // 2, 1 + k % 2]
    ax.imshow(overlay(out, masks, labels, boxes))
    ax.set_title(f"seed {seed}: scale {float(params.scale):.2f}, {len(labels)} objects", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Simple Copy-Paste: masks updated by subtracting pasted regions, boxes recomputed from masks")
plt.tight_layout()
plt.show()

# %% [markdown]
# Blending is optional: a Gaussian filter on alpha softens the paste edge (the paper found it unnecessary).

# %%
params = M.CopyPasteParams(scale=torch.tensor(0.8), offset=torch.tensor([60.0, 80.0]),
                           selected=torch.tensor([True, False]), src_size=(320, 320), out_size=(320, 320))
hard = M.apply_copy_paste(main, main_masks, main_labels, src, src_masks, src_labels, params)[0]
soft = M.apply_copy_paste(main, main_masks, main_labels, src, src_masks, src_labels, params, blend_sigma=3.0)[0]
edge = (hard - soft).abs().amax(0) > 1e-3  # blending only changes a band around the paste edge
print(f"pixels changed by more than 1e-3 by blending (sigma 3): {float(edge.float().mean()):.1%}")
fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
for ax, im, t in zip(axes, [hard, soft], ["no blending (default)", "Gaussian blending, sigma = 3"]):
    ax.imshow(im.permute(1, 2, 0)[40:200, 60:260].numpy())
    ax.set_title(t, fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The classification wrapper pastes each partner's central rectangle (a saliency-free stand-in object) and mixes
# the labels by pasted area.

# %%
batch = torch.stack([to_tensor(square(n, 224)) for n in ["astronaut", "chelsea", "coffee"]])
out, soft = copy_paste_batch(batch, torch.arange(3), num_classes=3, generator=torch.Generator().manual_seed(2))
print("soft targets:", [[round(v, 3) for v in row] for row in soft.tolist()])
fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
for i in range(3):
    axes[i].imshow(out[i].permute(1, 2, 0).numpy())
    axes[i].set_title(" / ".join(f"{v:.2f}" for v in soft[i].tolist()), fontsize=9)
    axes[i].axis("off")
plt.tight_layout()
plt.show()
