# %% [markdown]
# # Ghost Batch Normalization: small-batch statistics inside a large batch
#
# Split a batch of 64 samples into ghost batches of 16, normalize each on its own, check it against
# torch's BatchNorm run chunk by chunk, and see how much noisier the per-ghost-batch statistics are.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
gbn = create("ghost_batchnorm", channels=8, virtual_batch_size=16)
x = 2 * torch.randn(64, 8, 6, 6) + 1
y = gbn(x)
ghosts = y.reshape(4, 16, 8, 36)  # 4 ghost batches of 16 samples
print("output", tuple(y.shape), "| params", sum(p.numel() for p in gbn.parameters()), "(= 2 x C)")
print(f"per ghost batch and channel: |mean| max {ghosts.mean((1, 3)).abs().max():.1e}, "
      f"var in [{ghosts.var((1, 3), unbiased=False).min():.4f}, {ghosts.var((1, 3), unbiased=False).max():.4f}]")
print("running-statistics updates this step:", int(gbn.num_batches_tracked), "(one per ghost batch)")

# %% [markdown]
# The authors' code feeds each chunk of the large batch through a Batch-Norm model in turn. The
# vectorised layer gives the same outputs and running statistics, including an uneven last ghost batch.

# %%
ours = create("ghost_batchnorm", channels=8, virtual_batch_size=16)
ref = torch.nn.BatchNorm2d(8)
for step in range(3):
    xb = (step + 1) * torch.randn(70, 8, 6, 6) + step  # 16 + 16 + 16 + 16 + 6
    out_ref = torch.cat([ref(chunk) for chunk in torch.split(xb, 16)])
    diff = (ours(xb) - out_ref).abs().max()
print(f"max |ours - sequential BatchNorm2d| = {diff:.1e}; running_var diff "
      f"{(ours.running_var - ref.running_var).abs().max():.1e}; tracked {int(ours.num_batches_tracked)} vs "
      f"{int(ref.num_batches_tracked)}")

# %% [markdown]
# Why it regularizes: the mean each sample is normalized with fluctuates with its ghost batch. Compare the
# spread of the normalizing means for ghost batches of 4, 16 and the whole batch of 64.

# %%
xb = torch.randn(64, 8, 6, 6)
for vbs in (4, 16, 64):
    means = xb.reshape(64 // vbs, vbs, 8, 36).mean((1, 3))
    print(f"virtual_batch_size={vbs:3d}: std of the normalizing mean across ghost batches "
          f"{means.std(0).mean() if means.shape[0] > 1 else 0.0:.4f}")
