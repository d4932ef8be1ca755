# %% [markdown]
# # Random Erasing: occlude a random rectangle with noise
#
# Apply Random Erasing to the three sample photos, look at the sampled parameters, and measure the
# distribution of the erased area over many draws.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

random_erasing = get("random_erasing")
M = inspect.getmodule(random_erasing)  # sample_random_erasing_params, apply_random_erasing, PAPER_DEFAULTS

print("paper hyper-parameters:", M.PAPER_DEFAULTS)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# Sampling and applying are separate. `p=1.0` here so that every photo is erased; the paper's
# `p=0.5` leaves half of the images untouched. The last photo uses a constant fill (the authors' code
# writes a mean colour) instead of the paper's random values.

# %%
rng = np.random.default_rng(1)
outs, titles = [], []
for name, photo, fill in zip(names, photos, ["random", "random", "mean"]):
    params = M.sample_random_erasing_params(photo.shape[0], photo.shape[1], rng, p=1.0)
    outs.append(M.apply_random_erasing(photo, params, fill=fill))
    share = params.area / (photo.shape[0] * photo.shape[1])
    titles.append(f"s_e={params.area_ratio:.2f}, r_e={params.aspect_ratio:.2f}, fill {fill}")
    print(f"{name}: box {params.box}, drawn s_e {params.area_ratio:.3f} r_e {params.aspect_ratio:.2f}, "
          f"erased {params.area} px ({share:.1%})")

fig, axes = plt.subplots(2, 3, figsize=(10, 5.2))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Random Erasing: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# With the paper's defaults, half of the images are erased, and the erased fraction of those stays in
# [s_l, s_h] = [0.02, 0.4]. Draws that do not fit are repeated, which removes some large, elongated
# rectangles: the mean erased fraction falls below the 0.21 of U(0.02, 0.4).

# %%
rng = np.random.default_rng(0)
params = [M.sample_random_erasing_params(224, 224, rng) for _ in range(10_000)]
ratios = np.array([q.area / 224**2 for q in params if q.applied])
print(f"erased {len(ratios) / len(params):.1%} of images; erased fraction min {ratios.min():.3f}, "
      f"mean {ratios.mean():.3f}, max {ratios.max():.3f}")
image = sample_image("astronaut")
same = np.array_equal(random_erasing(image, np.random.default_rng(7)), random_erasing(image, np.random.default_rng(7)))
print("same seed, same output:", same)
