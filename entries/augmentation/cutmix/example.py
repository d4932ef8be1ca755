# %% [markdown]
# # CutMix: paste a box, mix the labels by area
#
# Build a batch of three photos, draw CutMix's parameters, look at the box and at how clipping
# changes lambda, then apply them.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

cutmix = get("cutmix")
M = inspect.getmodule(cutmix)  # the entry's module: sample_cutmix_params, apply_cutmix, cut_size


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
# One lambda ~ Beta(1, 1) sets the box size (Eq. 2: r_w = W sqrt(1 - lambda)); the centre is uniform,
# so the box may be clipped, and lambda is recomputed as the kept-area ratio (Algorithm A1).

# %%
params = M.sample_cutmix_params(3, 224, 224, alpha=1.0, generator=torch.Generator().manual_seed(42))
cut_h, cut_w = M.cut_size(params.lam_sampled, 224, 224)
y1, y2, x1, x2 = params.box.tolist()
print(f"sampled lambda = {float(params.lam_sampled):.3f} -> box {int(cut_h)} x {int(cut_w)} before clipping")
print(f"clipped box rows {y1}:{y2}, cols {x1}:{x2} = {(y2 - y1) * (x2 - x1)} px -> lambda = {float(params.lam):.3f}")
print("perm =", params.perm.tolist())

mixed, soft = M.apply_cutmix(images, targets, params, num_classes=3)
pasted = (mixed != images).any(1).flatten(1).float().mean(1)
for i, row in enumerate(soft.tolist()):
    print(f"image {i} ({names[i]}): {pasted[i]:.3f} of its pixels from {names[params.perm[i]]} "
          f"-> soft target {[round(v, 3) for v in row]}")


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
for ax in axes[1]:
    ax.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="yellow", lw=1.5))
fig.suptitle(f"CutMix, lambda = {float(params.lam):.3f}: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Over many batches the sampled lambda is uniform (alpha = 1), and clipping at the border pushes
# the kept-area lambda up: on average less than half of each image is replaced.

# %%
lams = [M.sample_cutmix_params(2, 224, 224, 1.0, torch.Generator().manual_seed(s)) for s in range(2000)]
sampled = np.array([float(p.lam_sampled) for p in lams])
kept = np.array([float(p.lam) for p in lams])
print(f"mean sampled lambda {sampled.mean():.3f}, mean kept-area lambda {kept.mean():.3f}, "
      f"boxes clipped: {(kept > sampled + 1e-3).mean():.0%}")
