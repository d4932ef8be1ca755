# %% [markdown]
# # TrivialAugment: one random operation at a random strength
#
# Apply TrivialAugment to the sample photos, print each draw, and sweep the strength of a few
# operations over the 31 levels.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

trivialaugment = get("trivialaugment")
M = inspect.getmodule(trivialaugment)  # sample_trivialaugment_params, apply_trivialaugment, OPS, op_argument

print(f"{len(M.OPS)} operations, {M.NUM_STRENGTHS} strengths:", ", ".join(M.OPS))
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %%
rng = np.random.default_rng(5)
fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i, (name, photo) in enumerate(zip(names, photos)):
    axes[0, i].imshow(photo)
    axes[0, i].set_title(name, fontsize=9)
    for row in (1, 2):
        q = M.sample_trivialaugment_params(photo.shape[0], photo.shape[1], rng)
        axes[row, i].imshow(M.apply_trivialaugment(photo, q))
        axes[row, i].set_title(f"{q.name}, strength {q.strength}: {q.value:g}", fontsize=8)
        print(f"{name}: {q.name} at strength {q.strength} -> argument {q.value:g}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("TrivialAugment (wide): before (top), two draws (below)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The wide space: the argument of some operations at strengths 0, 10, 20 and 30.

# %%
for name in ("Rotate", "ShearX", "TranslateX", "Posterize", "Solarize", "Contrast"):
    print(f"{name:10s}", [M.op_argument(name, s) for s in (0, 10, 20, 30)])

# %% [markdown]
# One operation per image, so the fraction of images an operation changes is its share of the draws;
# measure how much each draw changes the astronaut photo on average (mean absolute pixel change).

# %%
photo = photos[0]
rng = np.random.default_rng(0)
change = {}
for _ in range(300):
    q = M.sample_trivialaugment_params(photo.shape[0], photo.shape[1], rng)
    diff = np.abs(M.apply_trivialaugment(photo, q).astype(int) - photo).mean()
    change.setdefault(q.name, []).append(diff)
for name in M.OPS:
    if name in change:
        print(f"{name:12s} drawn {len(change[name]):3d} times, mean |change| {np.mean(change[name]):6.1f}")
same = np.array_equal(trivialaugment(photo, np.random.default_rng(7)), trivialaugment(photo, np.random.default_rng(7)))
print("same seed, same output:", same)
