# %% [markdown]
# # Linformer: attend to k learned mixtures of the n tokens
#
# Build a Linformer layer, check that with k = n and identity projections it is plain softmax attention,
# and watch the cost grow linearly with the sequence length.

# %%
import torch
import torch.nn.functional as F

from encyclo import create
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
lin = create("linformer", dim=512)  # seq_len = 4096, k = 256, 8 heads, headwise sharing
print(lin)
print(f"E: {tuple(lin.E.shape)}, F: {tuple(lin.F.shape)}, params {sum(p.numel() for p in lin.parameters()):,}")
print("output for L = 1000 <= seq_len:", tuple(lin(torch.randn(1, 1000, 512)).shape))
try:
    lin(torch.randn(1, 5000, 512))
except ValueError as err:
    print("L = 5000:", err)

# %% [markdown]
# With k = n and E = F = I the sequence projection does nothing: Linformer is then softmax attention.

# %%
m = create("linformer", dim=64, seq_len=16, k=16, num_heads=4).eval()
with torch.no_grad():
    m.E.copy_(torch.eye(16)[None])
    m.F.copy_(torch.eye(16)[None])
x = torch.randn(2, 16, 64)
split = lambda t: t.view(2, 16, 4, 16).transpose(1, 2)  # noqa: E731
ref = m.out_proj(F.scaled_dot_product_attention(split(m.q_proj(x)), split(m.k_proj(x)), split(m.v_proj(x)))
                 .transpose(1, 2).reshape(2, 16, 64))
print("max |linformer(E = F = I) - softmax attention|:", (m(x) - ref).abs().max().item())

# %% [markdown]
# MACs (D = 512, k = 256) against softmax multi-head attention.

# %%
for length in (512, 1024, 2048, 4096):
    row = [count_ops(lambda name=name: create(name, dim=512, num_heads=8),
                     lambda device: (torch.randn(1, length, 512, device=device),), per_module=False).macs
           for name in ("linformer", "multi_head_attention")]
    print(f"L = {length:5d}: linformer {row[0] / 1e9:6.2f} GMACs   softmax {row[1] / 1e9:6.2f} GMACs")
