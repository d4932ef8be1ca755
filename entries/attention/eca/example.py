# %% [markdown]
# # ECA: a k-tap convolution across channels
#
# Build ECA blocks, see how the kernel size follows the channel count, check that each gate only
# looks at its k nearest channels, and count what ECA adds to a ResNet-50.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
for c in (64, 128, 256, 512, 1024, 2048):
    eca = create("eca", channels=c)  # kernel_size=None: k from Eq. 12 with gamma = 2, b = 1
    print(f"C = {c:4d}: k = {eca.kernel_size}, params = {sum(p.numel() for p in eca.parameters())}")

# %% [markdown]
# The gate is `y / x`: one value in (0, 1) per (sample, channel). Nudging channel 30 moves only the
# gates of channels 30 - k//2 ... 30 + k//2.

# %%
eca = create("eca", channels=64, kernel_size=5)
x = torch.rand(1, 64, 14, 14) + 0.5
x2 = x.clone()
x2[:, 30] += 1.0
with torch.no_grad():
    gates, gates2 = (eca(x) / x)[0, :, 0, 0], (eca(x2) / x2)[0, :, 0, 0]
moved = ((gates2 - gates).abs() > 1e-7).nonzero().flatten().tolist()
print("gates of channels 26..34:", [round(g, 3) for g in gates[26:35].tolist()])
print("channels whose gate moved:", moved)

# %% [markdown]
# ECA-Net50 is ResNet-50 with this block in every bottleneck's attention slot. With k from Eq. 12 it
# adds 86 parameters; the paper's released model hand-sets k = 3, 5, 5, 7 per stage and adds the 80
# the abstract reports.

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50 = count(create("resnet50"))
adaptive = count(create("resnet50", attention="eca")) - r50
released = {256: 3, 512: 5, 1024: 5, 2048: 7}
hand_set = count(create("resnet50", attention=lambda c: create("eca", channels=c, kernel_size=released[c]))) - r50
print(f"ResNet-50 {r50:,} params; + ECA (Eq. 12) {adaptive}; + ECA (k = 3, 5, 5, 7) {hand_set}")
