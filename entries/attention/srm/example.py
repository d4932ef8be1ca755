# %% [markdown]
# # SRM: recalibrating channels by their style
#
# SRM pools every channel into its *style*, the spatial mean and standard deviation, combines the two with
# two weights per channel (no cross-channel mixing), batch-normalises and gates with a sigmoid.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
srm = create("srm", channels=64)
count = lambda m: sum(p.numel() for p in m.parameters())
print("params at C = 64:", count(srm), "(CFC 2C + BN 2C)")

# %% [markdown]
# The authors initialise the CFC weights at zero, so a fresh SRM gates every channel by sigmoid(0) = 0.5.
# Give it some weights to see style at work: same mean, larger spread -> a different gate.

# %%
with torch.no_grad():
    srm.cfc[:, 0] = 1.0   # weight on the mean
    srm.cfc[:, 1] = -2.0  # weight on the std: penalise spread
srm.eval()
x = torch.randn(1, 64, 14, 14) * torch.linspace(0.2, 3, 64)[None, :, None, None] + 1.0
t = srm.style_pooling(x)[0]
gate = (srm(x) / x)[0, :, 0, 0]
for c in (0, 21, 42, 63):
    print(f"channel {c:2d}: mean {t[c, 0]:+.2f} std {t[c, 1]:.2f} -> gate {gate[c]:.3f}")

# %% [markdown]
# In every bottleneck of a ResNet-50, SRM adds 4C parameters per block.

# %%
r50, srm_r50 = create("resnet50"), create("resnet50", attention="srm")
print(f"ResNet-50 {count(r50):,}; SRM-ResNet-50 {count(srm_r50):,} (+{count(srm_r50) - count(r50):,})")
