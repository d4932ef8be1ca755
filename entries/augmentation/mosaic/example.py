# %% [markdown]
# # Mosaic: four images, one sample, boxes that follow their pixels
#
# Build four photos with a few hand-drawn object boxes, make a detection mosaic, draw the moved boxes,
# then use the classification form, whose labels are weighted by visible area.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

mosaic = get("mosaic")
M = inspect.getmodule(mosaic)  # mosaic_with_boxes, sample_mosaic_params, apply_mosaic


def square(name: str, side: int = 320, flip: bool = False) -> np.ndarray:
    """A sample photo, centre-cropped to a square and resized with OpenCV: (side, side, 3) uint8."""
    image = sample_image(name)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    out = cv2.resize(image[top:top + s, left:left + s], (side, side), interpolation=cv2.INTER_AREA)
    return out[:, ::-1].copy() if flip else out


names = ["astronaut", "chelsea", "coffee", "astro-flip"]
photos = [square("astronaut"), square("chelsea"), square("coffee"), square("astronaut", flip=True)]
images = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float() / 255  # (4, 3, 320, 320)
# rough hand-drawn boxes (x1, y1, x2, y2) in the 320 x 320 squares: faces, the cat, the cup
boxes = [torch.tensor([[105.0, 20.0, 215.0, 150.0]]), torch.tensor([[60.0, 40.0, 300.0, 300.0]]),
         torch.tensor([[40.0, 30.0, 290.0, 250.0]]), torch.tensor([[105.0, 20.0, 215.0, 150.0]])]
boxes[3][:, [0, 2]] = 320 - boxes[3][:, [2, 0]]  # mirror the face box of the flipped photo
labels = [torch.tensor([i]) for i in range(4)]


def draw(image: torch.Tensor, bxs: torch.Tensor, labs: torch.Tensor) -> np.ndarray:
    canvas = (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).astype(np.uint8).copy()
    for (x1, y1, x2, y2), lab in zip(bxs.round().int().tolist(), labs.tolist()):
        cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), (255, 220, 0), 2)
        cv2.putText(canvas, names[lab], (x1 + 3, y1 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 220, 0), 1)
    return canvas


# %% [markdown]
# The centre is uniform in [S/2, 3S/2) on a 2S canvas; the output is the central S x S crop.

# %%
fig, axes = plt.subplots(2, 4, figsize=(13, 6.8))
for i in range(4):
    axes[0, i].imshow(draw(images[i], boxes[i], labels[i]))
    axes[0, i].set_title(names[i], fontsize=9)
for j, seed in enumerate([0, 1, 2, 3]):
    img, b, lab = M.mosaic_with_boxes(images, boxes, labels, generator=torch.Generator().manual_seed(seed))
    params = M.sample_mosaic_params(1, 4, (320, 320), (320, 320), torch.Generator().manual_seed(seed))
    yc, xc = params.center[0].tolist()
    axes[1, j].imshow(draw(img, b, lab))
    axes[1, j].plot([xc - 160], [yc - 160], "r+", ms=14)
    axes[1, j].set_title(f"seed {seed}: centre ({yc}, {xc}), {len(lab)} boxes", fontsize=9)
    print(f"seed {seed}: slots {[names[k] for k in params.sources[0].tolist()]}, "
          f"boxes {[[round(v) for v in r] for r in b.tolist()]}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Mosaic (YOLOv5 load_mosaic): sources (top), mosaics with moved boxes (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The classification form: mosaic n holds image n and three others; its soft target weights the four labels
# by the area each one covers.

# %%
out, soft = mosaic(images, torch.arange(4), num_classes=4, generator=torch.Generator().manual_seed(7))
for n in range(4):
    print(f"mosaic {n}: " + ", ".join(f"{names[k]} {w:.3f}" for k, w in enumerate(soft[n].tolist())))
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
for n in range(4):
    axes[n].imshow(out[n].permute(1, 2, 0).numpy())
    axes[n].set_title(" / ".join(f"{w:.2f}" for w in soft[n].tolist()), fontsize=9)
    axes[n].axis("off")
plt.tight_layout()
plt.show()
