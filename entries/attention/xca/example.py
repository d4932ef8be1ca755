# %% [markdown]
# # Cross-covariance attention: a d_h x d_h attention map over channels
#
# Build XCA at XCiT-S width, look at the size of its attention maps as the number of tokens grows, and
# count the cost against token-to-token self-attention.

# %%
import torch

from encyclo import create
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
xca = create("xca", dim=384, num_heads=8).eval()
print(xca)
print(f"params {sum(p.numel() for p in xca.parameters()):,}")
for n in (196, 784, 3136):  # 224 px with patches of 16, 8 and 4 pixels
    x = torch.randn(1, n, 384)
    print(f"N = {n:4d} tokens: output {tuple(xca(x).shape)}, attention map per head {tuple(xca.attention_map(x).shape[-2:])}")

# %% [markdown]
# The keys and queries are L2-normalised along the tokens: without qkv biases, scaling the input leaves the
# map unchanged (with biases, nearly so).

# %%
x = torch.randn(1, 196, 384)
plain = create("xca", dim=384, num_heads=8, qkv_bias=False).eval()
with torch.no_grad():
    print("qkv_bias=False: max |A(3x) - A(x)| =", (plain.attention_map(3 * x) - plain.attention_map(x)).abs().max().item())
    print("qkv_bias=True:  max |A(3x) - A(x)| =", (xca.attention_map(3 * x) - xca.attention_map(x)).abs().max().item())

# %% [markdown]
# MACs at D = 384, h = 8 against softmax multi-head attention.

# %%
for n in (196, 784, 3136):
    row = [count_ops(lambda name=name: create(name, dim=384, num_heads=8),
                     lambda device: (torch.randn(1, n, 384, device=device),), per_module=False).macs
           for name in ("xca", "multi_head_attention")]
    print(f"N = {n:4d}: XCA {row[0] / 1e9:6.3f} GMACs   softmax {row[1] / 1e9:6.3f} GMACs")
