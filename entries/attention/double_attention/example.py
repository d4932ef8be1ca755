# %% [markdown]
# # Double attention: gather global descriptors, distribute them back
#
# Build an A^2 block, look at the gathered descriptors, check that gather-then-distribute equals the
# pairwise (non-local style) form, and compare the cost of the two orders.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
a2 = create("double_attention", channels=256).eval()  # c_m = c_n = 64
x = torch.randn(2, 256, 28, 28)
with torch.no_grad():
    g = a2.gather(x)
    y = a2(x)
print("params", sum(p.numel() for p in a2.parameters()), "| descriptors G", tuple(g.shape), "| out", tuple(y.shape))

# %% [markdown]
# The same Z computed as A [softmax(B)^T softmax(V)] needs an (HW x HW) matrix: identical output,
# quadratic cost.

# %%
with torch.no_grad():
    a = a2.conv_a(x).flatten(2)
    b = a2.conv_b(x).flatten(2).softmax(-1)
    v = a2.conv_v(x).flatten(2).softmax(1)
    z_pairwise = a @ (b.transpose(1, 2) @ v)
    z_gather = (a @ b.transpose(1, 2)) @ v
print("max |difference| between the two orders:", float((z_pairwise - z_gather).abs().max()))

for size in (14, 28, 56):
    l = size * size
    print(f"{size:2d}x{size:<2d}: gather-first {2 * 64 * 64 * l / 1e6:7.1f} M MACs, "
          f"pairwise-first {(64 * l * l + l * l * 64) / 1e6:8.1f} M MACs for the two products")

# %% [markdown]
# The whole block, counted: linear in the number of positions.

# %%
for size in (14, 28, 56):
    with FlopCounterMode(display=False) as counter:
        a2(torch.randn(1, 256, size, size))
    print(f"{size:2d}x{size:<2d}: {counter.get_total_flops() / 2 / 1e6:7.1f} M MACs")

# %% [markdown]
# It fills the attention slot of a ResNet like any other block.

# %%
r18 = create("resnet18", attention="double_attention")
n = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-18 + A^2: {n(r18):,} params (+{n(r18) - n(create('resnet18')):,})")
