# %% [markdown]
# # RandAugment: N random operations at one magnitude M
#
# Apply RandAugment (N = 2) at three magnitudes to the sample photos, print the drawn operations,
# and show how one magnitude sets every operation's strength.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

randaugment = get("randaugment")
M = inspect.getmodule(randaugment)  # sample_randaugment_params, apply_randaugment, OPS, op_argument

print(f"K = {len(M.OPS)} operations:", ", ".join(M.OPS))
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# The arguments of a few operations at M = 5, 9 (ImageNet ResNet-50), 15 and 28 on a 224 x 224 image.
# 10 is the end of AutoAugment's ranges; beyond it they extrapolate.

# %%
for m in (5, 9, 15, 28):
    row = {n: M.op_argument(n, m, 224, 224) for n in ("Rotate", "ShearX", "TranslateX", "Posterize", "Solarize", "Color")}
    print(f"M = {m:2d}:", ", ".join(f"{k} {v:g}" for k, v in row.items()))

# %%
rng = np.random.default_rng(3)
magnitudes = (5, 9, 15)
fig, axes = plt.subplots(len(magnitudes) + 1, 3, figsize=(10, 13))
for i, (name, photo) in enumerate(zip(names, photos)):
    axes[0, i].imshow(photo)
    axes[0, i].set_title(name, fontsize=9)
    for row, m in enumerate(magnitudes, start=1):
        q = M.sample_randaugment_params(photo.shape[0], photo.shape[1], rng, num_ops=2, magnitude=m)
        axes[row, i].imshow(M.apply_randaugment(photo, q))
        axes[row, i].set_title(f"M={m}: " + ", ".join(f"{op.name} {op.value:g}" for op in q.ops), fontsize=8)
        print(f"{name}, M = {m}: {q.ops}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("RandAugment, N = 2: before (top), M = 5, 9, 15 (below)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Each operation is drawn with probability 1/14; with N = 2 an image has 14^2 = 196 possible
# operation sequences, and all of them occur.

# %%
rng = np.random.default_rng(0)
draws = [M.sample_randaugment_params(224, 224, rng) for _ in range(20_000)]
freq = np.array([[op.name for op in q.ops] for q in draws])
counts = {n: float(np.mean(freq == n)) for n in M.OPS}
print("frequency per operation: min {:.4f}, max {:.4f} (1/14 = {:.4f})".format(min(counts.values()),
      max(counts.values()), 1 / 14))
print("distinct sequences:", len({tuple(row) for row in freq}))
same = np.array_equal(randaugment(photos[0], np.random.default_rng(7)), randaugment(photos[0], np.random.default_rng(7)))
print("same seed, same output:", same)
