# %% [markdown]
# # GCT: channels that compete or cooperate
#
# Gated Channel Transformation embeds each channel by its l2 norm, normalises the embeddings across channels
# and gates with 1 + tanh(gamma * s_hat + beta). Three numbers per channel; identity at initialisation.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
gct = create("gct", channels=64)
x = torch.randn(2, 64, 28, 28)
count = lambda m: sum(p.numel() for p in m.parameters())
print("params", count(gct), "| identity at init:", torch.equal(gct(x), x))

# %% [markdown]
# gamma sets the behaviour: with gamma > 0 the channel with the largest norm gets the largest gate
# (channels *compete*), with gamma < 0 it gets the smallest (they *cooperate*).

# %%
x = torch.rand(1, 4, 8, 8) + 0.5
x[:, 0] *= 4  # channel 0 has a much larger norm
for g in (2.0, -2.0):
    with torch.no_grad():
        gct4 = create("gct", channels=4)
        gct4.gamma.fill_(g)
        gate = (gct4(x) / x)[0, :, 0, 0]
    print(f"gamma = {g:+.0f}: gates {[round(v, 3) for v in gate.tolist()]}")

# %% [markdown]
# In every bottleneck of a ResNet-50 it adds 3C parameters per block.

# %%
r50, gct_r50 = create("resnet50"), create("resnet50", attention="gct")
print(f"ResNet-50 {count(r50):,}; with GCT {count(gct_r50):,} (+{count(gct_r50) - count(r50):,})")
