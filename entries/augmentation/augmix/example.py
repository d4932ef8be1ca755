# %% [markdown]
# # AugMix: mix augmentation chains, then blend with the original
#
# Sample AugMix parameters for the three sample photos, look at the three chains and their mixture,
# check that the output is the convex combination of Algorithm 1, and evaluate the Jensen-Shannon loss.

# %%
import inspect

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from encyclo import get, sample_image

augmix = get("augmix")
M = inspect.getmodule(augmix)  # OPS, sample_augmix_params, apply_chain, apply_augmix, jsd_loss

print("operations:", M.OPS)
print("defaults:", M.PAPER_DEFAULTS, "| JS weight lambda:", M.JSD_WEIGHT)
names = ["astronaut", "chelsea", "coffee"]
photos = [cv2.resize(sample_image(n), (224, 224), interpolation=cv2.INTER_AREA) for n in names]

# %% [markdown]
# For each photo: the original, the three chains, and the AugMix output.

# %%
rng = np.random.default_rng(0)
fig, axes = plt.subplots(3, 5, figsize=(13, 8.4))
for row, (name, photo) in enumerate(zip(names, photos)):
    params = M.sample_augmix_params(224, 224, rng)
    axes[row, 0].imshow(photo)
    axes[row, 0].set_title(name, fontsize=9)
    for i, (chain, w) in enumerate(zip(params.chains, params.weights)):
        axes[row, 1 + i].imshow(M.apply_chain(photo, chain))
        ops = ", ".join(f"{n}({v:g})" if n not in ("autocontrast", "equalize") else n for n, v in chain)
        axes[row, 1 + i].set_title(f"w={w:.2f}: {ops}", fontsize=7)
    axes[row, 4].imshow(M.apply_augmix(photo, params))
    axes[row, 4].set_title(f"AugMix, m = {params.m:.2f}", fontsize=9)
    print(f"{name}: weights {np.round(params.weights, 3)}, m {params.m:.3f}, chains {params.chains}")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("AugMix: original, the three chains (with their Dirichlet weights), the mixture")
plt.tight_layout()
plt.show()

# %% [markdown]
# The output is $(1 - m)\,x + m \sum_i w_i\,\mathrm{chain}_i(x)$: rebuild it from the sampled parameters.

# %%
photo, errors = photos[1], []
for _ in range(10):
    params = M.sample_augmix_params(224, 224, rng)
    chains = np.stack([M.apply_chain(photo, c) for c in params.chains]).astype(np.float64)
    rebuilt = (1 - params.m) * photo + params.m * np.tensordot(params.weights, chains, axes=1)
    errors.append(np.abs(M.apply_augmix(photo, params) - rebuilt).max())
print(f"max |output - convex combination| over 10 draws: {max(errors):.3f} levels (rounding to uint8)")
depths = [len(c) for _ in range(1000) for c in M.sample_augmix_params(32, 32, rng).chains]
print("chain depths drawn:", {d: round(depths.count(d) / len(depths), 3) for d in sorted(set(depths))})

# %% [markdown]
# The Jensen-Shannon term: 0 when the three predictions agree, $\log 3$ at most.

# %%
torch.manual_seed(0)
z = torch.randn(8, 10)
print(f"JS(identical) = {float(M.jsd_loss(z, z, z)):.2e}")
print(f"JS(clean vs two noisy views) = {float(M.jsd_loss(z, z + torch.randn(8, 10), z + torch.randn(8, 10))):.4f}")
peaked = torch.eye(3) * 50
print(f"JS(three confident, different classes) = {float(M.jsd_loss(peaked[[0]], peaked[[1]], peaked[[2]])):.4f}"
      f" (log 3 = {np.log(3):.4f})")
