# %% [markdown]
# # Random grayscale: drop the colour of one image in five
#
# Apply SimCLR's colour dropping to the three sample photos, look at the sampled parameters, and
# measure the frequency, the equal channels and the luma weights.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

random_grayscale = get("random_grayscale")
M = inspect.getmodule(random_grayscale)  # sample_random_grayscale_params, apply_random_grayscale, to_grayscale

print("paper p:", M.PAPER_P, "| luma weights (BT.601):", M.LUMA_WEIGHTS)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# With p = 0.2 most draws leave the photo alone: in this seeded draw only the cat loses its colour. The
# last column shows the conversion itself (p = 1).

# %%
rng = np.random.default_rng(17)
outs, titles = [], []
for name, photo in zip(names, photos):
    params = M.sample_random_grayscale_params(photo.shape[0], photo.shape[1], rng)
    outs.append(M.apply_random_grayscale(photo, params))
    titles.append(f"applied={params.applied}")
    print(f"{name}: {photo.shape} -> {outs[-1].shape}, applied={params.applied}")
forced = random_grayscale(photos[2], rng, p=1.0)

fig, axes = plt.subplots(2, 4, figsize=(13, 5.4))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
axes[0, 3].imshow(photos[2])
axes[0, 3].set_title("coffee", fontsize=9)
axes[1, 3].imshow(forced)
axes[1, 3].set_title("p = 1 (always converted)", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Random grayscale, p = 0.2: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Over many draws one image in five is converted; a converted image has three identical channels whose
# value is the BT.601 luma.

# %%
image = photos[1]
rng = np.random.default_rng(1)
applied = np.array([M.sample_random_grayscale_params(*image.shape[:2], rng).applied for _ in range(10_000)])
print(f"conversion frequency over 10,000 draws: {applied.mean():.3f} (p = 0.2)")
print("output shape:", forced.shape, "| R == G == B:",
      bool((forced[..., 0] == forced[..., 1]).all() and (forced[..., 1] == forced[..., 2]).all()))
primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
print("grey level of pure red, green, blue:", M.to_grayscale(primaries)[0, :, 0].tolist(),
      "(0.299, 0.587, 0.114 x 255 =", [round(w * 255, 2) for w in M.LUMA_WEIGHTS], ")")
same = np.array_equal(random_grayscale(image, np.random.default_rng(7)), random_grayscale(image, np.random.default_rng(7)))
print("same seed, same output:", same)
