# %% [markdown]
# # LayerScale: small per-channel weights on each residual branch
#
# Build a pre-norm transformer block with LayerScale, read the paper's initial epsilon for several
# depths, and see how much a block changes its input at initialization.

# %%
import torch
from torch import nn

from encyclo import create, module

init_value_for_depth = module("layerscale").init_value_for_depth
for depth in (12, 18, 24, 36, 48):
    print(f"depth {depth:2d}: epsilon = {init_value_for_depth(depth):g}")

# %% [markdown]
# A block as in Eq. 4-5: x' = x + diag(lambda) SA(LN(x)), x_out = x' + diag(lambda') FFN(LN(x')).


# %%
class Block(nn.Module):
    def __init__(self, dim: int, heads: int, depth: int):
        super().__init__()
        eps = init_value_for_depth(depth)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ls1 = create("layerscale", dim=dim, init_values=eps)
        self.ls2 = create("layerscale", dim=dim, init_values=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.ls1(self.attn(h, h, h, need_weights=False)[0])  # Eq. 4
        return x + self.ls2(self.mlp(self.norm2(x)))  # Eq. 5


torch.manual_seed(0)
x = torch.randn(2, 50, 192)  # (N, L, D): 49 patches + class token, D = 192 (small, to run fast)
for depth in (12, 24, 36):
    blocks = nn.Sequential(*[Block(192, 4, depth) for _ in range(depth)])
    with torch.no_grad():
        rel = (blocks(x) - x).norm() / x.norm()
    print(f"depth {depth}: relative change of the input through {depth} blocks at init: {rel:.2e}")

# %% [markdown]
# One LayerScale is D parameters, a diagonal matrix applied per token.

# %%
ls = create("layerscale", dim=192)
print("params", sum(p.numel() for p in ls.parameters()),
      "| equals x @ diag(gamma):", torch.allclose(ls(x), x @ torch.diag(ls.gamma)))
