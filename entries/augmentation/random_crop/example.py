# %% [markdown]
# # Random crop with padding: pad 4, crop back, content shifts by up to 4 pixels
#
# Apply ResNet's CIFAR pad-and-crop to the three sample photos (padding scaled to their size) and to a
# CIFAR-sized 32 x 32 thumbnail with the paper's 4 pixels, then measure the offset distribution.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

random_crop = get("random_crop")
M = inspect.getmodule(random_crop)  # sample_random_crop_params, apply_random_crop, PAPER_PADDING

print("paper padding:", M.PAPER_PADDING, "| paper crop:", M.PAPER_CROP, "| padding modes:", M.PADDING_MODES)
names = ["astronaut", "chelsea", "coffee"]
photos = [sample_image(n) for n in names]  # (H, W, 3) uint8 RGB, 256 pixels high

# %% [markdown]
# The photos are 256 pixels high, eight times a CIFAR image, so the padding is scaled the same way:
# 4 x 8 = 32 pixels. The last column uses edge padding instead of zeros.

# %%
rng = np.random.default_rng(2)
outs, titles = [], []
for name, photo, mode in zip(names, photos, ["constant", "constant", "edge"]):
    params = M.sample_random_crop_params(photo.shape[0], photo.shape[1], rng, padding=32)
    outs.append(M.apply_random_crop(photo, params, padding_mode=mode))
    titles.append(f"offset {params.offset}, shift {params.shift}, {mode}")
    print(f"{name}: {photo.shape} -> {outs[-1].shape}, offset (top, left) {params.offset}, "
          f"content shift (dy, dx) {params.shift}, padding_mode {mode}")

# A CIFAR-sized thumbnail with the paper's settings: 32 x 32, 4 pixels, zeros.
thumb = photos[0][::8, ::8]  # (32, 32, 3)
thumb_params = M.sample_random_crop_params(32, 32, rng)
thumb_out = M.apply_random_crop(thumb, thumb_params)
print(f"32 x 32 thumbnail: offset {thumb_params.offset}, output {thumb_out.shape}")

fig, axes = plt.subplots(2, 4, figsize=(13, 5.6))
for i in range(3):
    axes[0, i].imshow(photos[i])
    axes[0, i].set_title(names[i], fontsize=9)
    axes[1, i].imshow(outs[i])
    axes[1, i].set_title(titles[i], fontsize=8)
axes[0, 3].imshow(thumb, interpolation="nearest")
axes[0, 3].set_title("32 x 32 thumbnail", fontsize=9)
axes[1, 3].imshow(thumb_out, interpolation="nearest")
axes[1, 3].set_title(f"padding 4, offset {thumb_params.offset}", fontsize=8)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Pad-and-crop: before (top), after (bottom)")
plt.tight_layout()
plt.show()

# %% [markdown]
# On a 32 x 32 image with padding 4 the offsets run over 0..8, each with probability 1/9; offset (4, 4)
# returns the image itself. Every crop is a window of the zero-padded 40 x 40 image.

# %%
rng = np.random.default_rng(1)
offsets = np.array([M.sample_random_crop_params(32, 32, rng).offset for _ in range(20_000)])
freq = np.bincount(offsets[:, 0], minlength=9) / len(offsets)
print("top offset frequencies (1/9 = 0.111):", np.round(freq, 3))
print("unchanged (offset (4, 4)):", f"{np.mean((offsets == 4).all(axis=1)):.4f}", "(1/81 = 0.0123)")
padded = np.pad(thumb, ((4, 4), (4, 4), (0, 0)))
t, l = thumb_params.offset
print("crop equals the window of the padded image:", np.array_equal(thumb_out, padded[t:t + 32, l:l + 32]))
same = np.array_equal(random_crop(thumb, np.random.default_rng(7)), random_crop(thumb, np.random.default_rng(7)))
print("same seed, same output:", same)
