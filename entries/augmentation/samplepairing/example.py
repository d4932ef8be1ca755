# %% [markdown]
# # SamplePairing: average two images, keep the first label
#
# Build a batch of three photos, draw SamplePairing's partners, apply them and look at the targets:
# unlike mixup they stay one-hot.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

samplepairing = get("samplepairing")
M = inspect.getmodule(samplepairing)  # sample_samplepairing_params, apply_samplepairing


def square(name: str, side: int = 224) -> np.ndarray:
    """A sample photo, centre-cropped to a square and resized with OpenCV: (side, side, 3) uint8."""
    image = sample_image(name)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return cv2.resize(image[top:top + s, left:left + s], (side, side), interpolation=cv2.INTER_AREA)


names = ["astronaut", "chelsea", "coffee"]
images = torch.from_numpy(np.stack([square(n) for n in names])).permute(0, 3, 1, 2).float() / 255  # (3, 3, H, W)
targets = torch.arange(3)
print("batch", tuple(images.shape), "| targets", targets.tolist())

# %% [markdown]
# Every image gets an independently drawn partner from the batch (it may be itself).

# %%
params = M.sample_samplepairing_params(3, torch.Generator().manual_seed(1))
print("partner =", params.partner.tolist(), "| paired =", params.paired.tolist())
paired, soft = M.apply_samplepairing(images, targets, params, num_classes=3)
for i in range(3):
    j = int(params.partner[i])
    err = float((paired[i] - 0.5 * (images[i] + images[j])).abs().max())
    print(f"{names[i]} + {names[j]}: max |out - (x_A + x_B)/2| = {err:.1e}, target = {soft[i].tolist()}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
for i in range(3):
    axes[0, i].imshow(images[i].permute(1, 2, 0).numpy())
    axes[0, i].set_title(f"{names[i]}: one-hot {i}", fontsize=9)
    axes[1, i].imshow(paired[i].permute(1, 2, 0).clamp(0, 1).numpy())
    axes[1, i].set_title(f"+ {names[int(params.partner[i])]} -> label still {names[i]}", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("SamplePairing: before (top), after (bottom); the label is the first image's")
plt.tight_layout()
plt.show()

# %% [markdown]
# The paper's schedule turns SamplePairing off for some epochs: that is `p = 0` from the training loop.

# %%
schedule = [0.0] * 2 + ([1.0] * 4 + [0.0] * 1) * 2 + [0.0] * 2  # off, on/off intermittently, off to fine-tune
g = torch.Generator().manual_seed(0)
changed = [float((samplepairing(images, targets, num_classes=3, generator=g, p=p)[0] != images)
                 .flatten(1).any(1).float().mean()) for p in schedule]
print("fraction of images changed per epoch:", [round(c, 2) for c in changed])
