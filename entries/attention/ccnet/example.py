# %% [markdown]
# # Criss-cross attention: a row and a column per position
#
# Build a criss-cross attention module, check it starts as the identity, look at the attention of one
# position, and see how one and two loops spread information compared with the cost of a non-local block.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
cca = create("ccnet", channels=512)
x = torch.randn(2, 512, 13, 15)
print("params", sum(p.numel() for p in cca.parameters()), "| identity at init:", torch.equal(cca(x), x))

# %% [markdown]
# The attention of a position has H + W logits: H over its column (its own entry masked to zero), W over
# its row. H + W - 1 = 27 weights are non-zero and they sum to one.

# %%
with torch.no_grad():
    a = cca.attention(x)[0, 4, 7]  # position (4, 7)
print("logits per position", a.numel(), "| non-zero", int((a > 0).sum()), "| sum", round(float(a.sum()), 5))

# %% [markdown]
# Which input positions reach output position (4, 7)? One module: its row and column. Two loops with
# shared weights (RCCA): the whole map. Drawn as a text grid.

# %%
def support(block, h=9, w=11, i=4, j=7):
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, block.channels, h, w, requires_grad=True)
    block(x)[0, :, i, j].sum().backward()
    return x.grad[0].abs().sum(0) > 0

for r in (1, 2):
    s = support(create("ccnet", channels=32, recurrence=r))
    print(f"recurrence={r}: {int(s.sum())} of {s.numel()} positions")
    print("\n".join("".join("#" if v else "." for v in row) for row in s.tolist()))

# %% [markdown]
# Cost against a non-local block (embedded Gaussian, same C) as the map grows: linear in H + W per
# position instead of HW.

# %%
for size in (16, 32, 48):
    counts = []
    for name, kw in [("ccnet", {"recurrence": 2}), ("nonlocal_block", {})]:
        block = create(name, channels=512, **kw)
        with FlopCounterMode(display=False) as counter:
            block(torch.randn(1, 512, size, size))
        counts.append(counter.get_total_flops() / 2 / 1e9)
    print(f"{size:2d}x{size:<2d}: RCCA (R=2) {counts[0]:6.2f} G MACs | non-local {counts[1]:7.2f} G MACs")

# %% [markdown]
# It fills the attention slot of a ResNet like any other block.

# %%
r18 = create("resnet18", attention="ccnet")
n = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-18 + criss-cross attention: {n(r18):,} params (+{n(r18) - n(create('resnet18')):,})")
