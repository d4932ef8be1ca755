# %% [markdown]
# # GridMask: remove a regular grid of squares
#
# Apply GridMask with the authors' ImageNet setting to the three sample photos, and measure the kept
# fraction against the paper's $k = 1 - (1 - r)^2$.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np

from encyclo import get, sample_image

gridmask = get("gridmask")
M = inspect.getmodule(gridmask)  # sample_gridmask_params, apply_gridmask, keep_ratio, linear_ramp_p

print("authors' ImageNet setting:", M.PAPER_IMAGENET)
names = ["astronaut", "chelsea", "coffee"]
photos = [cv2.resize(sample_image(n), (224, 224), interpolation=cv2.INTER_AREA) for n in names]

# %% [markdown]
# One draw per photo with the ImageNet setting (forced to apply, `p=1`), filled with the ImageNet mean
# as the paper's normalised zeros are; and the same masks filled with black to show the grid.

# %%
rng = np.random.default_rng(0)
drawn = [M.sample_gridmask_params(224, 224, rng, p=1.0) for _ in photos]
fig, axes = plt.subplots(3, 3, figsize=(9, 9.4))
for j, (name, photo, params) in enumerate(zip(names, photos, drawn)):
    axes[0, j].imshow(photo)
    axes[0, j].set_title(name, fontsize=9)
    axes[1, j].imshow(M.apply_gridmask(photo, params))
    axes[1, j].set_title(f"d = {params.d}, offset {params.offset}, {params.angle} deg", fontsize=9)
    axes[2, j].imshow(M.apply_gridmask(photo, params, fill=0))
    axes[2, j].set_title(f"kept {params.keep_fraction:.1%}", fontsize=9)
    print(f"{name}: d={params.d}, offset={params.offset}, angle={params.angle}, kept {params.keep_fraction:.3f}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("GridMask (r = 0.6): original, ImageNet-mean fill, black fill")
plt.tight_layout()
plt.show()

# %% [markdown]
# The kept fraction is set by $r$ alone. On whole units it is exactly $1 - (1 - r)^2$; with random $d$,
# offsets and angles on a 224 x 224 image it matches on average.

# %%
for ratio in (0.4, 0.5, 0.6, 0.7):
    whole = M.GridMaskParams(d=100, offset=(0, 0), angle=0, ratio=ratio, size=(400, 400)).keep_fraction
    rng = np.random.default_rng(1)
    drawn = [M.sample_gridmask_params(224, 224, rng, ratio=ratio, p=1.0).keep_fraction for _ in range(300)]
    print(f"r = {ratio}: k = {M.keep_ratio(ratio):.3f} | whole units {whole:.3f} | "
          f"224 x 224 draws {np.mean(drawn):.3f} +- {np.std(drawn):.3f}")

# %% [markdown]
# The authors raise the probability of applying GridMask linearly over the first 240 of 300 epochs.

# %%
print("p by epoch:", {e: round(M.linear_ramp_p(e, 240), 2) for e in (0, 60, 120, 240, 299)})
