# %% [markdown]
# # SaliencyMix: cut the patch where the source is salient
#
# Compute spectral-residual saliency maps of three photos, then paste a CutMix-sized box centred on each
# source's saliency peak into its target, at the same place, and mix the labels by the pasted area.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

saliencymix = get("saliencymix")
M = inspect.getmodule(saliencymix)  # the entry's module: sample_saliencymix_params, apply_saliencymix, ...


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
saliency = M.spectral_residual_saliency(images)  # (3, H, W)
for i, name in enumerate(names):
    row, col = divmod(int(saliency[i].argmax()), 224)
    print(f"{name}: saliency peak at row {row}, col {col}")

# %% [markdown]
# One lambda ~ Beta(1, 1) sets the box size (as in CutMix); each box is centred on its source's peak,
# clipped to the image, and lambda is recomputed per image from the clipped box.

# %%
params = M.sample_saliencymix_params(images, beta=1.0, generator=torch.Generator().manual_seed(6))
cut_h, cut_w = M.cut_size(params.lam_sampled, 224, 224)
print(f"sampled lambda = {float(params.lam_sampled):.3f} -> box {int(cut_h)} x {int(cut_w)} before clipping")
mixed, soft = M.apply_saliencymix(images, targets, params, num_classes=3)
for i in range(3):
    y1, y2, x1, x2 = params.boxes[i].tolist()
    print(f"image {i} ({names[i]}): box rows {y1}:{y2}, cols {x1}:{x2} from {names[params.perm[i]]}, "
          f"lambda = {float(params.lam[i]):.3f} -> soft target {[round(v, 3) for v in soft[i].tolist()]}")

# %%
fig, axes = plt.subplots(3, 3, figsize=(9, 9.6))
for i in range(3):
    axes[0, i].imshow(images[i].permute(1, 2, 0).numpy())
    axes[0, i].set_title(f"{names[i]}: one-hot {i}", fontsize=9)
    axes[1, i].imshow(saliency[i].numpy(), cmap="inferno")
    row, col = divmod(int(saliency[i].argmax()), 224)
    axes[1, i].plot(col, row, "c+", ms=14, mew=2)
    axes[1, i].set_title(f"saliency of {names[i]} (+ = peak)", fontsize=9)
    axes[2, i].imshow(mixed[i].permute(1, 2, 0).clamp(0, 1).numpy())
    y1, y2, x1, x2 = params.boxes[i].tolist()
    axes[2, i].add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="yellow", lw=1.5))
    axes[2, i].set_title(" + ".join(f"{v:.2f} {names[k]}" for k, v in enumerate(soft[i].tolist()) if v > 0), fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("SaliencyMix: images (top), spectral-residual saliency (middle), mixed (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Boxes centred on a peak near the border are clipped, which raises the kept-area lambda above the
# sampled one on average.

# %%
sampled, kept = [], []
for seed in range(100):
    p = M.sample_saliencymix_params(images, 1.0, torch.Generator().manual_seed(seed))
    sampled.append(float(p.lam_sampled))
    kept.extend(p.lam.tolist())
print(f"mean sampled lambda {np.mean(sampled):.3f}, mean kept-area lambda {np.mean(kept):.3f}")
