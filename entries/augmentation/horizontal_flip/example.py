# %% [markdown]
# # Random horizontal flip: the image or its mirror, 50/50
#
# Flip the three sample photos, look at the sampled parameters, and measure the flip frequency and the
# involution property (flipping twice gives the input back).

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

horizontal_flip = get("horizontal_flip")
M = inspect.getmodule(horizontal_flip)  # sample_horizontal_flip_params, apply_horizontal_flip, PAPER_P

print("paper p:", M.PAPER_P, "| reflections per patch (Sec. 4.1, 2048 = 32 x 32 x 2):", M.REFLECTIONS_PER_PATCH)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# Each photo gets its own draw; with p = 0.5 some are mirrored and some are not. A fourth column forces
# the flip (p = 1) so the mirror is always visible.

# %%
rng = np.random.default_rng(0)
outs, titles = [], []
for name, photo in zip(names, photos):
    params = M.sample_horizontal_flip_params(photo.shape[0], photo.shape[1], rng)
    outs.append(M.apply_horizontal_flip(photo, params))
    titles.append(f"flipped={params.flipped}")
    print(f"{name}: {photo.shape}, flipped={params.flipped}")
forced = horizontal_flip(photos[0], rng, p=1.0)

fig, axes = plt.subplots(2, 4, figsize=(12, 5.4))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
axes[0, 3].imshow(photos[0])
axes[0, 3].set_title("astronaut", fontsize=9)
axes[1, 3].imshow(forced)
axes[1, 3].set_title("p = 1 (always flipped)", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Random horizontal flip, p = 0.5: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Over many draws the flip happens half the time, and a flip undone by a second flip is exact.

# %%
image = photos[1]
rng = np.random.default_rng(1)
flags = np.array([M.sample_horizontal_flip_params(*image.shape[:2], rng).flipped for _ in range(10_000)])
print(f"flip frequency over 10,000 draws: {flags.mean():.3f} (p = 0.5)")
q = M.HorizontalFlipParams(flipped=True, size=image.shape[:2])
twice = M.apply_horizontal_flip(M.apply_horizontal_flip(image, q), q)
print("flipped twice equals the input:", np.array_equal(twice, image))
print("column 0 of the flip is column W-1 of the input:", np.array_equal(forced[:, 0], photos[0][:, -1]))
same = np.array_equal(horizontal_flip(image, np.random.default_rng(7)), horizontal_flip(image, np.random.default_rng(7)))
print("same seed, same output:", same)
