# %% [markdown]
# # RICAP: four crops, one image, labels by area
#
# Draw a boundary point from Beta(0.3, 0.3), crop four regions from four shuffled copies of the batch,
# patch them together, and mix the four labels by the region areas.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

ricap = get("ricap")
M = inspect.getmodule(ricap)  # the entry's module: sample_ricap_params, apply_ricap, region_sizes


def square(name: str, side: int = 224) -> np.ndarray:
    """A sample photo, centre-cropped to a square and resized with OpenCV: (side, side, 3) uint8."""
    image = sample_image(name)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return cv2.resize(image[top:top + s, left:left + s], (side, side), interpolation=cv2.INTER_AREA)


names = ["astronaut", "chelsea", "coffee"]
images = torch.from_numpy(np.stack([square(n) for n in names])).permute(0, 3, 1, 2).float() / 255  # (3, 3, H, W)
targets = torch.arange(3)  # class i = names[i]
print("batch", tuple(images.shape), "| targets", targets.tolist())

# %%
params = M.sample_ricap_params(3, 224, 224, beta=0.3, generator=torch.Generator().manual_seed(10))
h, w = params.boundary.tolist()
heights, widths = M.region_sizes(params.boundary, 224, 224)
print(f"boundary (h, w) = ({h}, {w})")
for k, region in enumerate(["upper left", "upper right", "lower left", "lower right"]):
    print(f"  {region:11s}: {int(heights[k]):3d} x {int(widths[k]):3d} crop at (y, x) = "
          f"{tuple(params.offsets[k].tolist())}, "
          f"weight {float(params.weights[k]):.3f}, sources {[names[j] for j in params.perms[k].tolist()]}")
print(f"weights sum to {float(params.weights.sum()):.6f}")
patched, soft = M.apply_ricap(images, targets, params, num_classes=3)
for i, row in enumerate(soft.tolist()):
    print(f"output {i}: soft target {[round(v, 3) for v in row]}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
for i in range(3):
    axes[0, i].imshow(images[i].permute(1, 2, 0).numpy())
    axes[0, i].set_title(f"{names[i]}: one-hot {i}", fontsize=9)
    axes[1, i].imshow(patched[i].permute(1, 2, 0).clamp(0, 1).numpy())
    axes[1, i].axhline(h - 0.5, color="yellow", lw=1.5)
    axes[1, i].axvline(w - 0.5, color="yellow", lw=1.5)
    axes[1, i].set_title(" + ".join(f"{v:.2f} {names[k]}" for k, v in enumerate(soft[i].tolist()) if v > 0), fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("RICAP, beta = 0.3: before (top), after (bottom; yellow = boundary)")
plt.tight_layout()
plt.show()

# %% [markdown]
# beta = 0.3 makes the boundary U-shaped: usually one crop dominates the patched image.

# %%
largest = [float(M.sample_ricap_params(1, 224, 224, 0.3, torch.Generator().manual_seed(s)).weights.max())
           for s in range(2000)]
print(f"largest region weight: mean {np.mean(largest):.3f}, median {np.median(largest):.3f}, "
      f"above 0.5 in {np.mean(np.array(largest) > 0.5):.0%} of draws")
