# %% [markdown]
# # Colour jitter: random brightness, contrast, saturation and hue
#
# Jitter the three sample photos, print the sampled factors, and check two properties of the operations.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

color_jitter = get("color_jitter")
M = inspect.getmodule(color_jitter)  # sample_color_jitter_params, apply_color_jitter, adjust_*

print("default strengths:", M.DEFAULTS)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %%
rng = np.random.default_rng(0)
outs, titles = [], []
for name, photo in zip(names, photos):
    q = M.sample_color_jitter_params(rng, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    outs.append(M.apply_color_jitter(photo, q))
    titles.append(f"b {q.brightness:.2f} c {q.contrast:.2f} s {q.saturation:.2f} h {q.hue:+.2f}")
    print(f"{name}: order {q.order}, {titles[-1]}")

fig, axes = plt.subplots(2, 3, figsize=(10, 5.2))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Colour jitter: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Brightness scales the mean intensity (until pixels clip); half a turn of hue maps red to cyan.

# %%
photo = photos[0]
for b in (0.6, 1.0, 1.4):
    out = M.adjust_brightness(photo, b)
    print(f"brightness {b}: mean {photo.mean():.1f} -> {out.mean():.1f} (ratio {out.mean() / photo.mean():.3f})")
red = np.zeros((1, 1, 3), np.uint8)
red[..., 0] = 255
print("red after hue +0.5:", M.adjust_hue(red, 0.5)[0, 0].tolist())
same = np.array_equal(color_jitter(photo, np.random.default_rng(7)), color_jitter(photo, np.random.default_rng(7)))
print("same seed, same output:", same)
