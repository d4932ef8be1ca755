# %% [markdown]
# # SimCLR's random Gaussian blur
#
# Blur the three sample photos at 224 x 224 (SimCLR's crop size), print the kernel the paper's rule gives,
# and compare the two border modes.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

gaussian_blur = get("gaussian_blur")
M = inspect.getmodule(gaussian_blur)  # sample_/apply_gaussian_blur, kernel_taps, gaussian_kernel

names = ["astronaut", "chelsea", "coffee"]
photos = [cv2.resize(sample_image(n), (224, 224), interpolation=cv2.INTER_AREA) for n in names]
for side in (32, 96, 224, 256):
    print(f"side {side}: kernel {M.kernel_taps(side)} taps")
print("sigma range", M.SIGMA_RANGE, "| p", M.P, "| kernel fraction", M.KERNEL_FRACTION)

# %% [markdown]
# Draws with p = 1 so that every photo is blurred; the sampled σ is in the titles. The bottom row shows
# the largest blur, σ = 2, with the authors' zero padding (note the dark rim) next to the default reflection.

# %%
rng = np.random.default_rng(0)
outs, titles = [], []
for name, photo in zip(names, photos):
    q = M.sample_gaussian_blur_params(224, 224, rng, p=1.0)
    outs.append(M.apply_gaussian_blur(photo, q))
    titles.append(f"σ = {q.sigma:.2f}, kernel {q.kernel_size[0]}")
    print(f"{name}: sigma {q.sigma:.3f}, kernel {q.kernel_size}, "
          f"std of pixels {photo.std():.1f} -> {outs[-1].std():.1f}")

strong = M.GaussianBlurParams(sigma=2.0, kernel_size=(23, 23), size=(224, 224))
borders = [M.apply_gaussian_blur(photos[2], strong, border=b) for b in ("reflect", "zeros")]
print("mean of the outer 5-pixel rim, reflect vs zeros:",
      [round(float(np.concatenate([b[:5].ravel(), b[-5:].ravel()]).mean()), 1) for b in borders])

fig, axes = plt.subplots(3, 3, figsize=(10, 10))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=9)
axes[2, 0].imshow(photos[2])
axes[2, 0].set_title("coffee", fontsize=9)
axes[2, 1].imshow(borders[0])
axes[2, 1].set_title("σ = 2, border reflect (default)", fontsize=9)
axes[2, 2].imshow(borders[1])
axes[2, 2].set_title("σ = 2, border zeros (authors' TF padding)", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Gaussian blur: before (top), after (middle), border modes (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Half the images are blurred, and the 1-D kernel at 224 has 23 taps.

# %%
rng = np.random.default_rng(1)
applied = np.mean([M.sample_gaussian_blur_params(224, 224, rng).applied for _ in range(10_000)])
print(f"fraction blurred: {applied:.3f}")
k = M.gaussian_kernel(23, 2.0)
print(f"kernel at sigma 2.0: {len(k)} taps, centre {k[11]:.4f}, ends {k[0]:.1e} (truncation is negligible)")
a, b = (gaussian_blur(photos[0], np.random.default_rng(7)) for _ in range(2))
same = np.array_equal(a, b)
print("same seed, same output:", same)
