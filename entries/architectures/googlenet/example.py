# %% [markdown]
# # GoogLeNet: Inception modules on a multiply-add budget
#
# Walk through the nine Inception modules of Table 1, compare torchvision's layout with the paper's 5x5
# kernels, and train one step with the auxiliary classifiers and the paper's weighted loss.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

count = lambda m: sum(p.numel() for p in m.parameters())


def macs(model: nn.Module, size: int = 224) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(1, 3, size, size, device="meta"))
    return counter.get_total_flops() // 2


for name, kw in (("googlenet", {}), ("googlenet", {"aux_logits": True}), ("googlenet_paper", {})):
    with torch.device("meta"):
        model = create(name, **kw).eval()
    print(f"{name:16s} {str(kw):22s} params {count(model):>11,d}  GMACs {macs(model) / 1e9:.3f}")

# %% [markdown]
# Each module concatenates four branches. Their widths come from Table 1, and the module's cost stays
# small because 1x1 reductions shrink the channels before the 3x3 and 5x5 filters.

# %%
with torch.device("meta"):
    model = create("googlenet_paper").eval()
names = ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")
inputs = {}
hooks = [getattr(model, f"inception{n}").register_forward_pre_hook(lambda m, args, n=n: inputs.__setitem__(n, args[0]))
         for n in names]
model(torch.randn(1, 3, 224, 224, device="meta"))
for h in hooks:
    h.remove()
for n in names:
    block = getattr(model, f"inception{n}")
    counter = FlopCounterMode(display=False)
    with counter:
        out = block(inputs[n])
    print(f"inception ({n}): in {tuple(inputs[n].shape[1:])} -> out {tuple(out.shape[1:])}  "
          f"params {count(block):>9,d}  MMACs {counter.get_total_flops() / 2e6:7.1f}")

# %% [markdown]
# Without the 1x1 reductions, 3a's 5x5 branch alone would cost $28^2 \cdot 25 \cdot 192 \cdot 32$ multiply-adds:

# %%
direct = 28 * 28 * 25 * 192 * 32
reduced = 28 * 28 * (192 * 16 + 25 * 16 * 32)
print(f"5x5 on 192 channels: {direct / 1e6:.1f} M MACs   with a 1x1 reduction to 16: {reduced / 1e6:.1f} M MACs")

# %% [markdown]
# Training with the auxiliary heads: `forward` still returns the main logits, and `forward_with_aux` gives
# all three for the loss $L_\text{main} + 0.3 (L_\text{aux1} + L_\text{aux2})$ (Sec. 5).

# %%
torch.manual_seed(0)
net = create("googlenet", aux_logits=True, num_classes=10).train()
images, labels = torch.randn(2, 3, 96, 96), torch.tensor([1, 7])
logits, aux2, aux1 = net.forward_with_aux(images)
ce = nn.functional.cross_entropy
loss = ce(logits, labels) + 0.3 * (ce(aux1, labels) + ce(aux2, labels))
loss.backward()
print(f"main {tuple(logits.shape)}, aux1 {tuple(aux1.shape)}, aux2 {tuple(aux2.shape)}; total loss {loss.item():.3f}")
print("state-dict entries with aux heads:", len(net.state_dict()))
