# %% [markdown]
# # Cutout: hide one square, anywhere
#
# Apply Cutout to the three sample photos, look at the sampled parameters, and measure how often
# the square is clipped by the border.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

cutout = get("cutout")
M = inspect.getmodule(cutout)  # the entry's module: sample_cutout_params, apply_cutout, PAPER_PATCH_SIZES

print("paper patch sides on 32 x 32 images:", M.PAPER_PATCH_SIZES)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# The sample photos are 256 pixels high, eight times a CIFAR image, so the square is scaled like the
# CIFAR-10 setting (16 of 32 pixels): side 128. Sampling and applying are separate; the first photo
# uses the paper's fill (the mean colour, here the photo's own), the others black.

# %%
rng = np.random.default_rng(3)
outs, titles = [], []
for name, photo, fill in zip(names, photos, ["mean", 0, 0]):
    params = M.sample_cutout_params(photo.shape[0], photo.shape[1], 128, rng)
    outs.append(M.apply_cutout(photo, params, fill=fill))
    share = params.area / (photo.shape[0] * photo.shape[1])
    titles.append(f"centre {params.center}, {params.area} px ({share:.1%})")
    print(f"{name}: {photo.shape[:2]}, centre {params.center}, box {params.box}, masked {params.area} px, fill {fill!r}")

fig, axes = plt.subplots(2, 3, figsize=(10, 5.2))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Cutout, side 128: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The centre is uniform over every pixel, so most squares are clipped by the border. On a CIFAR-sized
# 32 x 32 image with the CIFAR-10 side of 16, the masked area is 256 px only when the square is
# fully inside; averaged over all centres it is 196 px.

# %%
image = np.full((32, 32, 3), 255, np.uint8)
rng = np.random.default_rng(0)
areas = np.array([M.sample_cutout_params(32, 32, 16, rng).area for _ in range(10_000)])
print(f"mean masked area {areas.mean():.1f} px of 1024 ({areas.mean() / 1024:.1%}); "
      f"fully inside {np.mean(areas == 256):.1%} of the time (exact: (17/32)^2 = {(17 / 32) ** 2:.1%})")
same = np.array_equal(cutout(image, np.random.default_rng(7)), cutout(image, np.random.default_rng(7)))
print("same seed, same output:", same)
