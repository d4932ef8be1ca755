# %% [markdown]
# # ShuffleNet V2: channel split, concat and shuffle
#
# Follow one basic unit: half of the channels pass through untouched, the other half is transformed,
# and the shuffle interleaves them for the next unit.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create, module

shuffle = module("shufflenetv2").channel_shuffle
x = torch.arange(8.0).view(1, 8, 1, 1)
print("channels before shuffle:", x.flatten().int().tolist())
print("after shuffle (g = 2):   ", shuffle(x, 2).flatten().int().tolist())

# %% [markdown]
# In a basic unit the even output channels are exactly the untouched half of the input.

# %%
torch.manual_seed(0)
model = create("shufflenet_v2_x1_0").eval()
unit = model.stage2[1]
x = torch.randn(1, 116, 28, 28)
with torch.no_grad():
    y = unit(x)
print("identity half preserved:", torch.equal(y[:, 0::2], x[:, :58]))
print(unit.branch2)


# %% [markdown]
# Parameters and multiply-adds for the four complexity levels of Table 5.

# %%
def macs(m: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        m(x)
    return counter.get_total_flops() // 2


for name in ("shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"):
    with torch.device("meta"):
        m = create(name).eval()
        inp = torch.randn(1, 3, 224, 224)
    print(f"{name}: {sum(p.numel() for p in m.parameters()):>9,} params, {macs(m, inp) / 1e6:6.1f} M MACs")
