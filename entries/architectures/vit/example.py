# %% [markdown]
# # ViT: an image as a sequence of 16x16 words
#
# Cut an image into patches, follow the token sequence through ViT-B/16, count where the multiply-adds go,
# and run the model at a resolution it was not built for (the position embeddings are resampled, Sec. 3.2).

# %%
import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, sample_image

torch.manual_seed(0)
count = lambda m: sum(p.numel() for p in m.parameters())

# %% [markdown]
# Eq. 1 reshapes an H x W image into N = HW / P^2 patches. At 224 x 224 with P = 16 that is a 14 x 14 grid:
# 196 patch tokens, plus the class token.

# %%
image = cv2.resize(sample_image("astronaut"), (224, 224), interpolation=cv2.INTER_AREA)  # (224, 224, 3) uint8
P = 16
patches = image.reshape(14, P, 14, P, 3).transpose(0, 2, 1, 3, 4)  # (14, 14, 16, 16, 3)
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(image)
axes[0].set_title("224 x 224 input")
gap = np.full((14, 14, P + 2, P + 2, 3), 255, np.uint8)
gap[:, :, 1:-1, 1:-1] = patches
axes[1].imshow(gap.transpose(0, 2, 1, 3, 4).reshape(14 * (P + 2), 14 * (P + 2), 3))
axes[1].set_title("196 patches of 16 x 16 (the 'words')")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()
print(f"patches: {patches.shape[0] * patches.shape[1]}, each flattened to {P * P * 3} values -> projected to D = 768")

# %% [markdown]
# The variants of Table 1, counted on the meta device (no memory, no arithmetic). A smaller patch size
# makes the sequence longer. The parameter count barely moves, but the compute grows with the number of tokens.

# %%
for name in ("vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"):
    with torch.device("meta"):
        model = create(name).eval()
        x = torch.randn(1, 3, 224, 224)
    counter = FlopCounterMode(display=False)
    with counter:
        tokens = model.forward_features(x).shape[1]
    print(f"{name}: {tokens:3d} tokens  {count(model) / 1e6:7.2f} M params  {counter.get_total_flops() / 2e9:8.3f} GMACs")

# %% [markdown]
# Where ViT-B/16's multiply-adds go: per layer, the qkv and output projections cost 4 L D^2, the MLP costs
# 2 L D * 3072, and the two attention products q k^T and A v cost 2 L^2 D, with L = 197 tokens.

# %%
L, D, layers = 197, 768, 12
parts = {"patch projection": 196 * D * P * P * 3, "qkv + output projections": layers * 4 * L * D * D,
         "MLPs": layers * 2 * L * D * 3072, "attention products": layers * 2 * L * L * D, "head": D * 1000}
for part, macs in parts.items():
    print(f"{part:26s} {macs / 1e9:6.3f} GMACs")
print(f"{'total':26s} {sum(parts.values()) / 1e9:6.3f} GMACs (torchvision lists 17.564)")

# %% [markdown]
# Other resolutions: the 14 x 14 grid of learned position embeddings is resampled bicubically to the input's
# grid, and the class-token embedding is kept. Only the sequence length changes, not the weights.

# %%
vit = create("vit_b_16").eval()
with torch.no_grad():
    for size in (64, 160, 224):
        out = vit(torch.randn(1, 3, size, size))
        grid = size // 16
        print(f"input {size}x{size}: grid {grid}x{grid}, {grid * grid + 1} tokens, logits {tuple(out.shape)}")

# %% [markdown]
# The learned embeddings of a trained ViT form smooth 2-D patterns (Fig. 7 of the paper), which is why
# interpolating them works. Random ones have no such structure. The plot shows the cosine similarity of one
# position's embedding with all the others, before and after resampling a smooth synthetic embedding from 14 x 14 to 24 x 24.

# %%
with torch.no_grad():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 14), torch.linspace(-1, 1, 14), indexing="ij")
    freqs = torch.randn(2, 768) * 2
    smooth = torch.sin(yy.reshape(-1, 1) * freqs[0] + xx.reshape(-1, 1) * freqs[1])  # (196, 768)
    vit.encoder.pos_embedding[0, 1:] = smooth
    small, large = vit.position_embedding(14, 14)[0, 1:], vit.position_embedding(24, 24)[0, 1:]
sim = lambda e, i, g: torch.nn.functional.cosine_similarity(e[i][None], e, dim=1).reshape(g, g).detach()
fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
axes[0].imshow(sim(small, 3 * 14 + 4, 14), cmap="viridis")
axes[0].set_title("14 x 14 (as learned)")
axes[1].imshow(sim(large, 5 * 24 + 7, 24), cmap="viridis")
axes[1].set_title("resampled to 24 x 24")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()
print("similarity map sizes:", tuple(sim(small, 0, 14).shape), tuple(sim(large, 0, 24).shape))
