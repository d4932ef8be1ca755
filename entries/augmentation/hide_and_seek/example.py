# %% [markdown]
# # Hide-and-Seek: hide half of the patches, fill them with the mean
#
# Apply Hide-and-Seek to the three sample photos with the authors' patch sizes, then measure the
# hidden fraction and why the paper fills hidden patches with the data mean.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

hide_and_seek = get("hide_and_seek")
M = inspect.getmodule(hide_and_seek)  # sample_hide_and_seek_params, apply_hide_and_seek, PAPER_GRID_SIZES

print("patch sides drawn per image:", M.PAPER_GRID_SIZES, "| p_hide:", M.PAPER_P_HIDE)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# The photos are resized to 224 x 224, the crop size the authors' sides are meant for. One draw per photo
# with the default (mixed) sizes, and one with a fixed side of 32.

# %%
import cv2

photos = [cv2.resize(p, (224, 224), interpolation=cv2.INTER_AREA) for p in photos]
rng = np.random.default_rng(2)
rows = []
for grid_sizes in (M.PAPER_GRID_SIZES, 32):
    row = []
    for photo in photos:
        params = M.sample_hide_and_seek_params(224, 224, rng, grid_sizes=grid_sizes)
        row.append((M.apply_hide_and_seek(photo, params), params))
    rows.append(row)

fig, axes = plt.subplots(3, 3, figsize=(9, 9.4))
for j, name in enumerate(names):
    axes[0, j].imshow(photos[j])
    axes[0, j].set_title(name, fontsize=9)
    for i, row in enumerate(rows, start=1):
        out, params = row[j]
        axes[i, j].imshow(out)
        axes[i, j].set_title(f"S = {params.grid_size}, hidden {params.hidden_fraction:.0%}", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Hide-and-Seek: original (top), mixed sizes (middle), S = 32 (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Every patch is hidden with probability 0.5, so on average half of the image is hidden (when S > 0).

# %%
rng = np.random.default_rng(0)
fractions = [M.sample_hide_and_seek_params(224, 224, rng, grid_sizes=16).hidden_fraction for _ in range(1000)]
print(f"S = 16: mean hidden fraction {np.mean(fractions):.3f} (std {np.std(fractions):.3f}) over 1000 draws")

# %% [markdown]
# **Why the mean fill.** A first-layer filter that sees only hidden pixels should respond, on average,
# as it does on real data; otherwise training (with hiding) and testing (without) see different
# statistics. Compare the mean response of a fixed 3 x 3 filter with and without hiding.

# %%
data = np.clip(np.random.default_rng(0).integers(40, 216, (64, 1, 1, 3))
               + np.random.default_rng(1).normal(0, 30, (64, 64, 64, 3)), 0, 255).astype(np.uint8)
mean_rgb = np.rint(data.reshape(-1, 3).mean(0)).astype(int).tolist()
kernel = np.random.default_rng(3).random((3, 3)).astype(np.float32)


def mean_response(images):
    return float(np.mean([cv2.filter2D(x.astype(np.float32), -1, kernel).mean() for x in images]))


clean = mean_response(data)
for label, fill in (("dataset mean", mean_rgb), ("black", 0)):
    rng = np.random.default_rng(4)
    hidden = [hide_and_seek(x, rng, grid_sizes=8, fill=fill) for x in data]
    print(f"fill {label:12s}: mean response with hiding / without = {mean_response(hidden) / clean:.3f}")
