# %% [markdown]
# # Axial attention: attend along the columns, then along the rows
#
# Change one pixel and see which outputs move after the layer along H, after the layer along W, and after
# both; then compare the cost with full self-attention over all positions.

# %%
import matplotlib.pyplot as plt
import torch

from encyclo import create
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
block = create("axial_attention", channels=16, num_heads=4).eval()
x = torch.randn(1, 16, 24, 24)
y = x.clone()
y[0, :, 6, 15] += 1.0  # change pixel (i, j) = (6, 15)
with torch.no_grad():
    maps = {name: ((fn(y) - fn(x)).abs().amax(1)[0] > 1e-6).float()
            for name, fn in (("along H", block.attend_height), ("along W", block.attend_width), ("H then W", block))}
for name, m in maps.items():
    print(f"{name:9s}: {int(m.sum()):3d} of {m.numel()} output pixels change")
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (name, m) in zip(axes, maps.items()):
    ax.imshow(m, cmap="gray", vmin=0, vmax=1)
    ax.set_title(name)
    ax.axis("off")
plt.show()

# %% [markdown]
# MACs at C = 64: axial attention vs the attention part of full self-attention, 2 (HW)^2 C.

# %%
for size in (16, 32, 64):
    macs = count_ops(lambda: create("axial_attention", channels=64),
                     lambda device: (torch.randn(1, 64, size, size, device=device),), per_module=False).macs
    print(f"{size}x{size}: axial block {macs / 1e6:8.1f} MMACs (attention part {2 * size**3 * 2 * 64 / 1e6:6.1f}),"
          f" full attention part {2 * size**4 * 64 / 1e6:8.1f} MMACs")
