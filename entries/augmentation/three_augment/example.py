# %% [markdown]
# # 3-Augment: one of grayscale, solarization, blur, then colour jitter
#
# Show each of the three operations on a sample photo, then 3-Augment draws on the three photos, and
# count how often each operation is chosen.

# %%
import inspect
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

three_augment = get("three_augment")
M = inspect.getmodule(three_augment)  # sample_/apply_three_augment, grayscale, solarize, gaussian_blur

names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB
print("operations:", M.OPS, "| colour jitter strength:", M.COLOR_JITTER, "| blur sigma:", M.BLUR_SIGMA_RANGE)

# %% [markdown]
# The three operations alone (no jitter): grey levels, inverted bright levels, a blur of σ = 2.

# %%
photo = photos[1]
alone = [M.grayscale(photo), M.solarize(photo), M.gaussian_blur(photo, 2.0)]
print("solarized max level:", alone[1].max(), "| grey channels equal:", bool((alone[0] == alone[0][..., :1]).all()))

# %% [markdown]
# 3-Augment draws: the chosen operation and jitter factors are in the titles.

# %%
rng = np.random.default_rng(0)
outs, titles = [], []
for name, img in zip(names, photos):
    q = M.sample_three_augment_params(rng)
    outs.append(M.apply_three_augment(img, q))
    sigma = f" σ={q.sigma:.2f}" if q.sigma is not None else ""
    titles.append(f"{q.op}{sigma}\nb {q.brightness:.2f} c {q.contrast:.2f} s {q.saturation:.2f}")
    print(f"{name}: {q.op}{sigma}, jitter order {q.jitter_order}, "
          f"b {q.brightness:.2f} c {q.contrast:.2f} s {q.saturation:.2f}")

fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(alone[i])
    axes[1, i].set_title(["grayscale", "solarization", "gaussian blur σ=2"][i] + " (chelsea, no jitter)", fontsize=9)
    axes[2, i].imshow(outs[i])
    axes[2, i].set_title(titles[i], fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("3-Augment: before (top), each operation alone (middle), 3-Augment draws (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# One operation per image, each with probability 1/3.

# %%
rng = np.random.default_rng(1)
counts = Counter(M.sample_three_augment_params(rng).op for _ in range(9000))
print({name: round(counts[name] / 9000, 3) for name in M.OPS})
same = np.array_equal(three_augment(photo, np.random.default_rng(7)), three_augment(photo, np.random.default_rng(7)))
print("same seed, same output:", same)
