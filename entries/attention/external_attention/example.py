# %% [markdown]
# # External attention: pixels attend to 64 learned memory slots
#
# Build the EANet block, check the double normalization of its attention map and compare its cost with
# the non-local block (self-attention over pixels) as the feature map grows.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
ea = create("external_attention", channels=512).eval()  # S = 64 memory slots
x = torch.randn(1, 512, 32, 32)
print("output", tuple(ea(x).shape), "| params", f"{sum(p.numel() for p in ea.parameters()):,}")

# %% [markdown]
# Eq. 5: a softmax over the 1024 positions, then an l1 normalization over the 64 slots.

# %%
with torch.no_grad():
    attn = ea.attention_map(x)  # (N, S, HW)
print("attention map", tuple(attn.shape), "| per-position sums", attn.sum(1).min().item(), attn.sum(1).max().item())
print("most used slot per pixel: %d distinct slots" % attn.argmax(1).unique().numel())

# %% [markdown]
# Linear vs quadratic: MACs of external attention and of a non-local block as H x W grows.

# %%
def macs(model, side):
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 512, side, side, device="meta"))
    return counter.get_total_flops() / 2 / 1e9

with torch.device("meta"):
    blocks = {"external_attention": create("external_attention", channels=512).eval(),
              "nonlocal_block": create("nonlocal_block", channels=512).eval()}
for side in (16, 32, 64):
    print(f"{side:3d}x{side:<3d}", "  ".join(f"{name} {macs(m, side):6.2f} GMACs" for name, m in blocks.items()))
