# %% [markdown]
# # MnasNet-B1: a searched stack of MBConv blocks
#
# Print the searched stages (kernel size, expansion, repeats), then the cost of each depth multiplier.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
model = create("mnasnet1_0").eval()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    x = model.layers[:8](x)
    print(f"stem + SepConv -> {tuple(x.shape)}")
    for i, stage in enumerate(model.layers[8:14], start=8):
        x = stage(x)
        b = stage[0]
        print(f"layers.{i}: {len(stage)} x MBConv{b.expansion} k{b.kernel_size}x{b.kernel_size} "
              f"(first stride {b.stride}) -> {tuple(x.shape)}")
    print(f"head -> {tuple(model.layers[14:](x).shape)}")


# %% [markdown]
# Parameters and multiply-adds per depth multiplier (compare torchvision's 0.104 / 0.215 / 0.314 / 0.526
# GMACs).

# %%
def macs(m: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        m(x)
    return counter.get_total_flops() // 2


for name in ("mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"):
    with torch.device("meta"):
        m = create(name).eval()
        inp = torch.randn(1, 3, 224, 224)
    print(f"{name:12s} {sum(p.numel() for p in m.parameters()):>10,} params {macs(m, inp) / 1e6:7.1f} M MACs")
