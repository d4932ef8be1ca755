# %% [markdown]
# # AutoAugment: the learned ImageNet policy
#
# Apply the 25-sub-policy ImageNet policy to the three sample photos, print which sub-policy each
# image drew, and look at the policy table itself.

# %%
import inspect
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

autoaugment = get("autoaugment")
M = inspect.getmodule(autoaugment)  # sample_autoaugment_params, apply_autoaugment, POLICY, OPS

print(f"{len(M.POLICY)} sub-policies; the first: {M.POLICY[0]}")
print("operations used:", dict(Counter(name for sub in M.POLICY for name, _, _ in sub)))
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB

# %% [markdown]
# Two draws per photo. The title lists the sub-policy's operations with their concrete arguments;
# a struck-out operation (`-`) missed its probability draw.

# %%
rng = np.random.default_rng(1)
fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i, (name, photo) in enumerate(zip(names, photos)):
    axes[0, i].imshow(photo)
    axes[0, i].set_title(name, fontsize=9)
    for row in (1, 2):
        q = M.sample_autoaugment_params(photo.shape[0], photo.shape[1], rng)
        axes[row, i].imshow(M.apply_autoaugment(photo, q))
        label = ", ".join(f"{'' if op.applied else '-'}{op.name} {op.value:g}" for op in q.ops)
        axes[row, i].set_title(f"#{q.index}: {label}", fontsize=8)
        print(f"{name}: sub-policy {q.index}: {q.ops}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("AutoAugment (ImageNet policy): before (top), two draws (below)")
plt.tight_layout()
plt.show()

# %% [markdown]
# How often is an image left untouched? Sum over the sub-policies of the chance that both operations
# miss, divided by 25; sampling agrees.

# %%
exact = np.mean([(1 - a[1]) * (1 - b[1]) for a, b in M.POLICY])
rng = np.random.default_rng(0)
draws = [M.sample_autoaugment_params(224, 224, rng) for _ in range(20_000)]
measured = np.mean([not any(op.applied for op in q.ops) for q in draws])
print(f"unchanged: {exact:.3f} exact, {measured:.3f} measured over 20000 draws")
same = np.array_equal(autoaugment(photos[0], np.random.default_rng(7)), autoaugment(photos[0], np.random.default_rng(7)))
print("same seed, same output:", same)
