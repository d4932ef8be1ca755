# %% [markdown]
# # MLP-Mixer: mixing tokens, then channels
#
# Follow the S x C table through a Mixer layer, see which MLP shares weights across what, and compare how the
# cost grows with the number of patches for Mixer (linear) and for global self-attention (quadratic).

# %%
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create

torch.manual_seed(0)
count = lambda m: sum(p.numel() for p in m.parameters())

# %% [markdown]
# Mixer-B/16 at 224 x 224: 196 patches of 16 x 16 become a 196 x 768 table. The token-mixing MLP maps each
# column (length S = 196) through a hidden width D_S = 384; the channel-mixing MLP maps each row (length
# C = 768) through D_C = 3072.

# %%
with torch.device("meta"):
    b16 = create("mixer_b16").eval()
    x = torch.randn(1, 3, 224, 224)
    tokens = b16.stem(x)
block = b16.blocks[0]
print(f"patch table X: {tuple(tokens.shape)} (N, S, C)")
print(f"token-mixing MLP:   {block.mlp_tokens.fc1.in_features} -> {block.mlp_tokens.fc1.out_features} -> "
      f"{block.mlp_tokens.fc2.out_features}, applied to each of the {tokens.shape[2]} channels")
print(f"channel-mixing MLP: {block.mlp_channels.fc1.in_features} -> {block.mlp_channels.fc1.out_features} -> "
      f"{block.mlp_channels.fc2.out_features}, applied to each of the {tokens.shape[1]} patches")

# %% [markdown]
# Table 1's parameter counts exclude the classifier head; `num_classes=0` builds the model without it.

# %%
table1 = {"mixer_s32": 19, "mixer_s16": 18, "mixer_b32": 60, "mixer_b16": 59, "mixer_l32": 206, "mixer_l16": 207,
          "mixer_h14": 431}
for name, paper in table1.items():
    with torch.device("meta"):
        m = create(name, num_classes=0)
    print(f"{name}: {count(m) / 1e6:7.2f} M parameters without head (Table 1: {paper} M)")

# %% [markdown]
# Cost against the number of patches (Sec. 2): with D_S fixed, a whole Mixer layer (token + channel MLP) grows
# linearly with S, 4x per 4x patches. A self-attention sublayer alone (no MLP) of the same width grows faster,
# since its S x S products are quadratic, and overtakes it by S = 3136. C = 768, 16 x 16 patches at 224, 448, 896.

# %%
def macs(fn, *args) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*args)
    return counter.get_total_flops() // 2


attn = torch.nn.MultiheadAttention(768, 12, batch_first=True, device="meta")
for size in (224, 448, 896):
    s = (size // 16) ** 2
    with torch.device("meta"):
        layer = create("mixer_b16", image_size=size).blocks[0]
        t = torch.randn(1, s, 768)
    mixer_macs = macs(layer, t)
    attn_macs = macs(lambda q: attn(q, q, q, need_weights=False), t)
    print(f"S = {s:5d}: Mixer layer {mixer_macs / 1e9:6.2f} GMACs, self-attention layer {attn_macs / 1e9:6.2f} GMACs")

# %% [markdown]
# A tiny Mixer trains on a CPU in seconds.

# %%
tiny = create("mlp_mixer", num_classes=4, image_size=32, patch_size=8, num_blocks=2, hidden_dim=32,
              tokens_mlp_dim=16, channels_mlp_dim=64)
xb, yb = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
opt = torch.optim.Adam(tiny.parameters(), lr=1e-2)
for step in range(8):
    loss = torch.nn.functional.cross_entropy(tiny(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step}: loss {loss.item():.3f}")
