# %% [markdown]
# # PCA colour augmentation ("fancy PCA")
#
# Apply AlexNet's lighting noise to the three sample photos, look at the sampled multipliers and the RGB
# shift they give, and compare the ImageNet principal components with those of the photos themselves.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

pca_lighting = get("pca_lighting")
M = inspect.getmodule(pca_lighting)  # sample_/apply_pca_lighting, lighting_shift, rgb_pca, IMAGENET_*

names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB
print("ImageNet eigenvalues (pixels in [0, 1]):", M.IMAGENET_EIGVAL)
print("eigenvectors (columns p1, p2, p3; rows R, G, B):\n", np.array(M.IMAGENET_EIGVEC))

# %% [markdown]
# At the paper's α std of 0.1 the shift is a few levels at most and hard to see. The bottom row shows what
# each principal direction does: a shift of 50 levels along one p_i at a time on the first photo.

# %%
outs = []
for i, (name, photo) in enumerate(zip(names, photos)):
    q = M.sample_pca_lighting_params(np.random.default_rng(i))
    outs.append(M.apply_pca_lighting(photo, q))
    print(f"{name}: alpha {np.round(q.alpha, 3).tolist()} -> RGB shift {np.round(q.shift, 1).tolist()} levels "
          f"(mean {photo.mean():.1f} -> {outs[-1].mean():.1f})")

eigval, eigvec = np.array(M.IMAGENET_EIGVAL), np.array(M.IMAGENET_EIGVEC)
directions, labels = [], ["-p1: brighter", "+p2: redder, less blue", "+p3: less green (magenta)"]
for i, sign in enumerate((-1, 1, 1)):
    alpha = np.zeros(3)
    alpha[i] = sign * 50 / (255 * eigval[i])  # |shift| = 255 |a_i| l_i = 50 levels
    q = M.PCALightingParams(alpha=tuple(alpha), shift=tuple(M.lighting_shift(alpha)))
    directions.append(M.apply_pca_lighting(photos[0], q))
    print(f"{labels[i]}: a_{i + 1} = {alpha[i]:+.2f} ({abs(alpha[i]) / 0.1:.0f} std), "
          f"shift {np.round(q.shift).astype(int).tolist()}")

fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title("α std 0.1 (paper)", fontsize=9)
    axes[2, i].imshow(directions[i])
    axes[2, i].set_title(f"50 levels along {labels[i]}", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("PCA lighting: before (top), after (middle), one principal direction at a time (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The same shift is added to every pixel, and it decomposes as α_i λ_i along p_i. The first ImageNet
# component is almost equal parts R, G, B: mostly a brightness change. The photos' own components
# (`rgb_pca`) have a similar grey-ish first direction.

# %%
photo = photos[0]
q = M.sample_pca_lighting_params(np.random.default_rng(5), alpha_std=0.3)
diff = M.apply_pca_lighting(np.clip(photo, 20, 235), q).astype(int) - np.clip(photo, 20, 235)
print("distinct per-pixel differences:", np.unique(diff.reshape(-1, 3), axis=0).tolist())
print("alpha recovered from the shift:",
      np.round(np.linalg.solve(M.IMAGENET_EIGVEC, q.shift) / (255 * np.array(M.IMAGENET_EIGVAL)), 4).tolist(),
      "vs drawn", np.round(q.alpha, 4).tolist())
val, vec = M.rgb_pca(photos)
print("eigenvalues of the three photos:", np.round(val, 4).tolist(),
      "| first eigenvector:", np.round(vec[:, 0], 3).tolist())
same = np.array_equal(pca_lighting(photo, np.random.default_rng(7)), pca_lighting(photo, np.random.default_rng(7)))
print("same seed, same output:", same)
