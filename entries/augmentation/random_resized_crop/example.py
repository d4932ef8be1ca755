# %% [markdown]
# # Random resized crop: a random 8 %-100 % patch, resized
#
# Crop the three sample photos, look at the sampled boxes, and measure the crop statistics.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

random_resized_crop = get("random_resized_crop")
M = inspect.getmodule(random_resized_crop)  # sample_random_resized_crop_params, apply_random_resized_crop

print("scale", M.PAPER_SCALE, "ratio", M.PAPER_RATIO)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %%
rng = np.random.default_rng(0)
outs, titles = [], []
for name, photo in zip(names, photos):
    params = M.sample_random_resized_crop_params(photo.shape[0], photo.shape[1], rng, size=224)
    outs.append(M.apply_random_resized_crop(photo, params))
    titles.append(f"box {params.box}, {params.area_fraction:.0%} area")
    print(f"{name}: {photo.shape[:2]} -> box (top, left, h, w) {params.box}, area {params.area_fraction:.1%}, "
          f"w/h {params.aspect_ratio:.2f}, output {outs[-1].shape}")

fig, axes = plt.subplots(2, 3, figsize=(10, 6))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Random resized crop to 224 x 224: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Over many draws the area fraction spans 8 % to 100 % and the ratio 3/4 to 4/3. Draws that do not
# fit are retried, which thins out large, elongated crops.

# %%
rng = np.random.default_rng(1)
qs = [M.sample_random_resized_crop_params(256, 256, rng) for _ in range(10_000)]
area = np.array([q.area_fraction for q in qs])
ratio = np.array([q.aspect_ratio for q in qs])
print(f"area fraction min {area.min():.3f} mean {area.mean():.3f} max {area.max():.3f}; "
      f"w/h min {ratio.min():.3f} max {ratio.max():.3f}; fallbacks {sum(q.fallback for q in qs)}")
image = photos[0]
same = np.array_equal(random_resized_crop(image, np.random.default_rng(7)), random_resized_crop(image, np.random.default_rng(7)))
print("same seed, same output:", same)
