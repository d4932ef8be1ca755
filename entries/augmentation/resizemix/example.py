# %% [markdown]
# # ResizeMix: paste the whole partner image, shrunk
#
# Draw one scale rate tau ~ U(0.1, 0.8), shrink every partner image to floor(H tau) x floor(W tau),
# paste it at a random place of each image, and mix the labels by the pasted area.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

resizemix = get("resizemix")
M = inspect.getmodule(resizemix)  # the entry's module: sample_resizemix_params, apply_resizemix


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
params = M.sample_resizemix_params(3, 224, 224, generator=torch.Generator().manual_seed(8))
h, w = params.patch.tolist()
print(f"tau = {float(params.tau):.3f} -> patch {h} x {w} = {h * w / 224**2:.3f} of the image "
      f"-> lambda = {float(params.lam):.3f}")
print("perm =", params.perm.tolist(), "| corners (y, x) =", params.offsets.tolist())
mixed, soft = M.apply_resizemix(images, targets, params, num_classes=3, interpolation="bilinear")
for i, row in enumerate(soft.tolist()):
    print(f"image {i} ({names[i]}) receives all of {names[params.perm[i]]} -> soft target {[round(v, 3) for v in row]}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
for i in range(3):
    axes[0, i].imshow(images[i].permute(1, 2, 0).numpy())
    axes[0, i].set_title(f"{names[i]}: one-hot {i}", fontsize=9)
    axes[1, i].imshow(mixed[i].permute(1, 2, 0).clamp(0, 1).numpy())
    y1, x1 = params.offsets[i].tolist()
    axes[1, i].add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), w, h, fill=False, edgecolor="yellow", lw=1.5))
    axes[1, i].set_title(" + ".join(f"{v:.2f} {names[k]}" for k, v in enumerate(soft[i].tolist()) if v > 0), fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle(f"ResizeMix, tau = {float(params.tau):.2f}: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The pasted fraction is tau^2: with tau uniform on [0.1, 0.8] it averages (0.8^3 - 0.1^3) / (3 x 0.7) = 0.243.

# %%
pasted = [1 - float(M.sample_resizemix_params(1, 224, 224, torch.Generator().manual_seed(s)).lam) for s in range(2000)]
print(f"mean pasted fraction {np.mean(pasted):.3f} (min {np.min(pasted):.3f}, max {np.max(pasted):.3f})")
