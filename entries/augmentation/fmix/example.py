# %% [markdown]
# # FMix: mix through a low-frequency Fourier mask
#
# Sample a low-frequency grey image from Fourier space, binarise it to a mask of mean lambda, and mix a
# batch of three photos through it. Then see how the decay power delta shapes the masks.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

fmix = get("fmix")
M = inspect.getmodule(fmix)  # the entry's module: sample_fmix_params, apply_fmix, low_frequency_image, binarise


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

# %% [markdown]
# One lambda ~ Beta(1, 1) and one mask per batch; the mask keeps round(lambda H W) pixels, so the label
# weight is the mask mean exactly.

# %%
params = M.sample_fmix_params(3, 224, 224, alpha=1.0, generator=torch.Generator().manual_seed(13))
print(f"sampled lambda = {float(params.lam_sampled):.4f}, mask mean = {float(params.mask.float().mean()):.4f}, "
      f"label weight = {float(params.lam):.4f}")
print("perm =", params.perm.tolist())

mixed, soft = M.apply_fmix(images, targets, params, num_classes=3)
for i, row in enumerate(soft.tolist()):
    kept = float((mixed[i] == images[i]).all(0).float().mean())
    print(f"image {i} ({names[i]}): keeps {kept:.3f} of its pixels, rest from {names[params.perm[i]]} "
          f"-> soft target {[round(v, 3) for v in row]}")

# %%
fig, axes = plt.subplots(3, 3, figsize=(9, 9.4))
for i in range(3):
    axes[0, i].imshow(images[i].permute(1, 2, 0).numpy())
    axes[0, i].set_title(f"{names[i]}: one-hot {i}", fontsize=9)
    axes[1, i].imshow(mixed[i].permute(1, 2, 0).clamp(0, 1).numpy())
    axes[1, i].contour(params.mask.float().numpy(), levels=[0.5], colors="yellow", linewidths=1)
    axes[1, i].set_title(" + ".join(f"{v:.2f} {names[k]}" for k, v in enumerate(soft[i].tolist()) if v > 0), fontsize=9)
for j, delta in enumerate([1.0, 3.0, 5.0]):
    image = M.low_frequency_image(224, 224, delta, torch.Generator().manual_seed(0))
    mask, mean = M.binarise(image, 0.5)
    axes[2, j].imshow(mask.numpy(), cmap="gray")
    axes[2, j].set_title(f"mask, delta = {delta:g}, mean {float(mean):.2f}", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle(f"FMix, lambda = {float(params.lam):.3f}: before (top), after (middle), masks for several delta (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Larger delta removes more high frequencies: the mask boundary gets shorter.

# %%
for delta in (1.0, 2.0, 3.0, 4.0):
    lengths = []
    for seed in range(20):
        mask, _ = M.binarise(M.low_frequency_image(224, 224, delta, torch.Generator().manual_seed(seed)), 0.5)
        lengths.append(int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()))
    print(f"delta = {delta:g}: mean boundary length {np.mean(lengths):7.1f} px (lambda = 0.5, 224 x 224)")
