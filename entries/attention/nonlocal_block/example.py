# %% [markdown]
# # Non-local block: every position looks at every other
#
# Build a non-local block, check that it starts as the identity, look at one query's attention map,
# and see how the cost grows with the number of positions.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
nl = create("nonlocal_block", channels=64)  # embedded Gaussian, C' = C / 2
x = torch.randn(2, 64, 16, 16)
print("params", sum(p.numel() for p in nl.parameters()))
print("identity at init (BN scale = 0):", torch.equal(nl.eval()(x), x))

# %% [markdown]
# The embedded Gaussian is softmax(theta^T phi): row i is the attention map of query i over all
# H x W positions, summing to one.

# %%
with torch.no_grad():
    theta = nl.theta(x).flatten(2).transpose(1, 2)  # (N, HW, C')
    phi = nl.phi(x).flatten(2)  # (N, C', HW)
    attn = torch.softmax(theta @ phi, dim=-1)  # (N, HW, HW)
print("attention matrix", tuple(attn.shape), "| row sums", attn[0].sum(-1)[:3].tolist())
print("query (0, 0) attends most to position", divmod(int(attn[0, 0].argmax()), 16))

# %% [markdown]
# The pairwise products grow with (HW)^2; the subsampling trick pools keys and values by 2 in H and W.

# %%
from torch.utils.flop_counter import FlopCounterMode

for size in (14, 28, 56):
    for sub in (False, True):
        block = create("nonlocal_block", channels=64, sub_sample=sub)
        with FlopCounterMode(display=False) as counter:
            block(torch.randn(1, 64, size, size))
        print(f"{size:2d}x{size:<2d} sub_sample={sub!s:5}: {counter.get_total_flops() / 2 / 1e6:8.1f} M MACs")

# %% [markdown]
# It fills the attention slot of a ResNet like any other block.

# %%
r18 = create("resnet18", attention="nonlocal_block")
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-18 + non-local: {count(r18):,} params (+{count(r18) - count(create('resnet18')):,})")
