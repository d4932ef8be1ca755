# %% [markdown]
# # Spatial Group-wise Enhance: a mask per group from its own mean feature
#
# Build an SGE block, look at one group's importance map and gate, and count what it adds to a ResNet-50.

# %%
import matplotlib.pyplot as plt
import torch

from encyclo import create

torch.manual_seed(0)
sge = create("sge", channels=256)  # G = 64 groups of 4 channels
print("params", sum(p.numel() for p in sge.parameters()), "(gamma and beta for each of 64 groups)")

# %% [markdown]
# At initialisation (gamma = 0, beta = 1) every gate is sigmoid(1). Set gamma = 3 to see the mechanism:
# positions whose feature points along the group's mean feature get gates near 1, the others near 0.

# %%
x = torch.randn(1, 256, 32, 32)
x[:, :, 8:20, 10:24] += 1.5  # a "part" that all channels share: it dominates the mean feature
with torch.no_grad():
    print("initial gate range:", [round(float(v), 4) for v in sge.gate(x).aminmax()])
    sge.weight.fill_(3.0)
    sge.bias.zero_()
    imp, gate, y = sge.importance(x), sge.gate(x), sge(x)
print(f"group 0: importance mean {imp[0, 0].mean():.2f}, std {imp[0, 0].std():.2f} (normalised over space)")
print(f"gate inside the part {gate[0, 0, 8:20, 10:24].mean():.3f}, outside {gate[0, 0, :8].mean():.3f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, img, title in zip(axes, [x[0, 0], gate[0, 0], y[0, 0]], ["input, channel 0", "gate of group 0", "output, channel 0"]):
    ax.imshow(img.numpy(), cmap="viridis")
    ax.set_title(title)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# SGE-ResNet-50: 16 blocks x 128 parameters (authors' README: 25.56M).

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50, sge_r50 = create("resnet50"), create("resnet50", attention="sge")
print(f"ResNet-50 {count(r50):,}; SGE-ResNet-50 {count(sge_r50):,} (+{count(sge_r50) - count(r50):,})")
