# %% [markdown]
# # MobileNetV3: h-swish, hard-sigmoid SE and the efficient last stage
#
# Look at the nonlinearities, one bneck with squeeze-and-excite, and where the multiply-adds go in
# MobileNetV3-Large and -Small.

# %%
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

# %% [markdown]
# h-swish (Eq. 2) against swish, and the hard-sigmoid gate against the sigmoid: piecewise linear,
# close to the smooth versions.

# %%
x = torch.linspace(-5, 5, 11)
print("x          ", [f"{v:5.1f}" for v in x.tolist()])
print("swish      ", [f"{v:5.2f}" for v in (x * torch.sigmoid(x)).tolist()])
print("h-swish    ", [f"{v:5.2f}" for v in nn.Hardswish()(x).tolist()])
print("sigmoid    ", [f"{v:5.2f}" for v in torch.sigmoid(x).tolist()])
print("h-sigmoid  ", [f"{v:5.2f}" for v in nn.Hardsigmoid()(x).tolist()])

# %% [markdown]
# A bneck with SE (Large, 5x5, expansion 72 -> 40 channels, stride 2).

# %%
torch.manual_seed(0)
model = create("mobilenet_v3_large").eval()
print(model.features[4])


# %% [markdown]
# Multiply-adds per stage: the stem, the bnecks, the 1x1 conv at 7x7 and the classifier that acts on the
# pooled features.

# %%
def macs(m: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        m(x)
    return counter.get_total_flops() // 2


for name in ("mobilenet_v3_large", "mobilenet_v3_small"):
    with torch.device("meta"):
        m = create(name).eval()
        inp = torch.randn(1, 3, 224, 224)
    total = macs(m, inp)
    feats = macs(m.features, inp)
    print(f"{name}: {total / 1e6:.1f} M MACs, {sum(p.numel() for p in m.parameters()):,} params; "
          f"features {feats / 1e6:.1f} M, classifier on pooled features {(total - feats) / 1e6:.2f} M")

# %% [markdown]
# torchvision checkpoints load as is, e.g.
# `model.load_state_dict(torch.load("mobilenet_v3_large-8738ca79.pth", weights_only=True))`
# (nothing is downloaded here).

# %%
print(f"{len(model.state_dict())} state-dict entries, e.g. {list(model.state_dict())[:3]}")
