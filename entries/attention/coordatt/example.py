# %% [markdown]
# # Coordinate attention: a height gate times a width gate
#
# Build a coordinate-attention block, look at its two direction-aware gates, and drop it into a ResNet.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
ca = create("coordatt", channels=64).eval()  # r = 32, at least 8 hidden channels, h-swish
x = torch.randn(2, 64, 28, 20)  # H != W is fine
y = ca(x)
print("output", tuple(y.shape), "| hidden", ca.hidden, "| params", sum(p.numel() for p in ca.parameters()))

# %% [markdown]
# `gates` returns $g^h$ (one value per row) and $g^w$ (one value per column) for every channel (Eqs. 7-8).
# The block multiplies the input by their outer product (Eq. 9).

# %%
with torch.no_grad():
    g_h, g_w = ca.gates(x)
print("g_h", tuple(g_h.shape), "g_w", tuple(g_w.shape))
print("y == x * g_h * g_w:", torch.allclose(y, x * g_h * g_w, atol=1e-6))
gate = (g_h * g_w)[0, 0]  # the (H, W) gate map of one channel
s = torch.linalg.svdvals(gate)
print(f"singular values of one channel's gate map: {s[0]:.3f}, {s[1]:.2e} (rank one)")

# %% [markdown]
# Unlike SE, the gate knows *where* a feature is: move a bright row and the height gate's special value moves with it.

# %%
a = torch.zeros(1, 64, 8, 8)
a[:, :, 2] = 3.0
b = torch.roll(a, shifts=3, dims=2)  # the bright row is now row 5
with torch.no_grad():
    print("row of the odd gate value, a:", int((ca.gates(a)[0][0, 0, :, 0] - ca.gates(a)[0][0, 0, 0, 0]).abs().argmax()),
          "| b:", int((ca.gates(b)[0][0, 0, :, 0] - ca.gates(b)[0][0, 0, 0, 0]).abs().argmax()))

# %% [markdown]
# In a ResNet the block fills the attention slot of every residual block.

# %%
count = lambda m: sum(p.numel() for p in m.parameters())
r50, ca_r50 = create("resnet50"), create("resnet50", attention="coordatt")
print(f"ResNet-50 {count(r50):,} params; with CA {count(ca_r50):,} (+{count(ca_r50) - count(r50):,})")
