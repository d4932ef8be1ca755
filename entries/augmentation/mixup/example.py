# %% [markdown]
# # mixup: blend images and labels with one weight
#
# Build a batch of three photos, draw mixup's parameters, look at them, apply them, and see how
# the Beta concentration alpha shapes the mixing weight.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

mixup = get("mixup")
M = inspect.getmodule(mixup)  # the entry's module: sample_mixup_params, apply_mixup, sample_beta


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
print("batch", tuple(images.shape), images.dtype, "| targets", targets.tolist())

# %% [markdown]
# Sampling and applying are separate: the parameters are one weight lambda ~ Beta(alpha, alpha) for the
# whole batch and a permutation that pairs image i with image perm[i].

# %%
params = M.sample_mixup_params(3, alpha=1.0, generator=torch.Generator().manual_seed(6))
print(f"lambda = {float(params.lam):.3f}, perm = {params.perm.tolist()}")
mixed, soft = M.apply_mixup(images, targets, params, num_classes=3)
for i, row in enumerate(soft.tolist()):
    print(f"image {i}: {float(params.lam):.3f} x {names[i]} + {1 - float(params.lam):.3f} x "
          f"{names[params.perm[i]]} -> soft target {[round(v, 3) for v in row]}")

# Same seed, same result, through the one-call API:
again = mixup(images, targets, num_classes=3, generator=torch.Generator().manual_seed(6))
print("mixup(...) with the same seed reproduces it:", torch.equal(again[0], mixed) and torch.equal(again[1], soft))


# %%
def show(row, batch, labels):
    for i in range(3):
        ax = axes[row, i]
        ax.imshow(batch[i].permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(labels[i], fontsize=9)
        ax.axis("off")


fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
show(0, images, [f"{n}: one-hot {i}" for i, n in enumerate(names)])
show(1, mixed, [" + ".join(f"{v:.2f} {names[k]}" for k, v in enumerate(row) if v > 0) for row in soft.tolist()])
fig.suptitle(f"mixup, lambda = {float(params.lam):.3f}: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# alpha sets how strongly pairs are mixed: alpha = 1 (the authors' code default) draws lambda
# uniformly; the small alphas the paper found best on ImageNet (0.1 to 0.4) keep most images close
# to one of the two originals.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
for alpha in (0.2, 1.0, 4.0):
    lam = M.sample_beta(alpha, torch.Generator().manual_seed(0), (20_000,))
    near = float((torch.minimum(lam, 1 - lam) < 0.1).float().mean())
    print(f"alpha = {alpha}: E[lambda] = {float(lam.mean()):.3f}, P(lambda within 0.1 of 0 or 1) = {near:.2f}")
    ax.hist(lam.numpy(), bins=50, histtype="step", density=True, label=f"alpha = {alpha}")
ax.set_xlabel("lambda")
ax.legend()
plt.tight_layout()
plt.show()
