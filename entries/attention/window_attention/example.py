# %% [markdown]
# # Shifted-window attention (Swin)
#
# Attention inside 7 x 7 windows of a 56 x 56 token map (Swin-T's first stage), its cost against global
# attention, and what the shift does: which tokens a query can see in W-MSA and in SW-MSA.

# %%
import torch

from encyclo import create
from encyclo.measure.counting import count_ops

torch.manual_seed(0)
w_msa = create("window_attention", dim=96, num_heads=3, window_size=7).eval()
sw_msa = create("window_attention", dim=96, num_heads=3, window_size=7, shifted=True).eval()
print(sw_msa)
print("params:", sum(p.numel() for p in w_msa.parameters()), "(W-MSA) =", sum(p.numel() for p in sw_msa.parameters()),
      "(SW-MSA); bias table", tuple(w_msa.relative_position_bias_table.shape))

# %% [markdown]
# Eq. 2 against global attention (Eq. 1), in MACs, as the map grows.

# %%
for side in (28, 56, 112):
    tokens = lambda device, s=side: (torch.randn(1, s * s, 96, device=device),)  # noqa: E731
    win = count_ops(lambda: create("window_attention", dim=96, num_heads=3), tokens, per_module=False).macs
    glob = count_ops(lambda: create("multi_head_attention", dim=96, num_heads=3), tokens, per_module=False).macs
    hw = side * side
    print(f"{side:3d} x {side:<3d} W-MSA {win / 1e6:9.1f} M (4hwC^2 + 2M^2hwC = {(4 * hw * 96**2 + 2 * 49 * hw * 96) / 1e6:9.1f} M)"
          f"   global MSA {glob / 1e6:10.1f} M")

# %% [markdown]
# Which outputs move when token (9, 9) of a 14 x 14 map changes? Without shift the change stays in its 7 x 7 window; with the shift it reaches
# tokens of the neighbouring regular windows.

# %%
x = torch.randn(1, 14 * 14, 96)
changed = x.clone().view(1, 14, 14, 96)
changed[0, 9, 9] += 3.0
with torch.no_grad():
    for name, attn in (("W-MSA ", w_msa), ("SW-MSA", sw_msa)):
        moved = (attn(changed.view(1, -1, 96)) - attn(x)).abs().sum(-1).view(14, 14) > 1e-6
        print(name, "outputs that change when token (9, 9) changes:")
        print("\n".join("  " + "".join("#" if v else "." for v in row) for row in moved.tolist()))
