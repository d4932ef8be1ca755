# %% [markdown]
# # DenseNet: concatenate, don't add
#
# Build a DenseNet-121, follow the channel count as it grows inside the dense blocks and shrinks at the
# transitions, compare the variants' size and cost, and check that the memory-efficient mode computes the
# same thing.

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, entry

torch.manual_seed(0)
count = lambda m: sum(p.numel() for p in m.parameters())
d121 = create("densenet121").eval()
print(f"DenseNet-121: {count(d121):,} parameters, {d121.num_features} features before the classifier")

# %% [markdown]
# Inside a dense block every layer adds k = 32 maps to everything before it: layer l reads
# 64 + 32 (l - 1) channels. Each transition keeps half of the maps (compression 0.5) and halves the resolution.

# %%
block = d121.features.denseblock1
print("inputs of the 6 layers of block 1:", [layer.conv1.in_channels for layer in block.values()])
shapes = {}
for name, m in d121.features.named_children():
    if name.startswith(("denseblock", "transition")):
        m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
with torch.no_grad():
    d121(torch.randn(1, 3, 224, 224))
for name, shape in shapes.items():
    print(f"{name:12s} -> {shape}")

# %% [markdown]
# The block's output keeps its input unchanged as the first 64 channels: earlier features are never
# overwritten, only added to.

# %%
x = torch.randn(1, 64, 14, 14)
with torch.no_grad():
    y = block(x)
print(f"block input {tuple(x.shape)} -> output {tuple(y.shape)}; first 64 channels identical: {torch.equal(y[:, :64], x)}")


# %% [markdown]
# Parameters and multiply-adds of every variant, counted on the meta device (ImageNet variants at 224,
# CIFAR DenseNet-BC at 32). The depth in each name counts the convolutions plus the classifier.

# %%
def measure(name: str, size: int) -> tuple[int, float, int]:
    with torch.device("meta"):
        model = create(name)
        x = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    depth = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in model.modules())
    return count(model), counter.get_total_flops() / 2 / 1e9, depth


for name in entry("densenet").variants:
    size = 32 if "bc" in name else 224
    n, g, depth = measure(name, size)
    print(f"{name:20s} depth {depth:4d}  {n:>11,} params  {g:6.3f} GMACs at {size}x{size}")

# %% [markdown]
# The memory-efficient mode recomputes each layer's concatenation and 1x1 bottleneck during the backward
# pass instead of storing them: same outputs and gradients, less memory.

# %%
kw = dict(growth_rate=12, block_config=[4, 4, 4], num_init_features=24, stem="cifar", num_classes=10)
plain, efficient = create("densenet", **kw), create("densenet", memory_efficient=True, **kw)
efficient.load_state_dict(plain.state_dict())
x = torch.randn(4, 3, 32, 32)
for model in (plain, efficient):
    model(x).logsumexp(1).sum().backward()
diff = max((a.grad - b.grad).abs().max().item() for a, b in zip(plain.parameters(), efficient.parameters()))
print(f"largest gradient difference between the two modes: {diff:.2e}")
