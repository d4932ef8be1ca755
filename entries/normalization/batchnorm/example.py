# %% [markdown]
# # Batch Normalization: mini-batch statistics in training, population statistics at inference
#
# Normalize a batch of feature maps, check it against `torch.nn.BatchNorm2d` in both modes, and see
# where the paper's unbiased factor m/(m-1) ends up.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
bn = create("batchnorm", channels=16)  # eps = 1e-5, momentum = 0.1, gamma = 1, beta = 0
x = 3 * torch.randn(8, 16, 5, 5) + 2  # (N, C, H, W)
y = bn(x)  # training mode: Alg. 1 over (N, H, W) of each channel
print("output", tuple(y.shape), "| params", sum(p.numel() for p in bn.parameters()), "(= 2 x C)")
print(f"per-channel mean before {x.mean((0, 2, 3)).abs().max():.3f}  after {y.mean((0, 2, 3)).abs().max():.1e}")
print(f"per-channel var  before {x.var((0, 2, 3), unbiased=False).mean():.3f}  "
      f"after {y.var((0, 2, 3), unbiased=False).mean():.5f}")

# %% [markdown]
# The layer keeps running estimates of the population mean and variance for inference. Train ours
# and torch's kernel side by side for a few steps: outputs, running statistics and eval outputs agree.

# %%
ours = create("batchnorm", channels=16)
with torch.no_grad():
    ours.weight.normal_()
    ours.bias.normal_()
ref = torch.nn.BatchNorm2d(16)
ref.load_state_dict(ours.state_dict())  # same names, buffers included
for step in range(5):
    xb = (step + 1) * torch.randn(4, 16, 6, 6) + step
    diff = (ours(xb) - ref(xb)).abs().max()
print(f"train: max |ours - torch| {diff:.1e}; running_var max diff "
      f"{(ours.running_var - ref.running_var).abs().max():.1e}; batches tracked {int(ours.num_batches_tracked)}")
ours.eval()
ref.eval()
xe = torch.randn(2, 16, 6, 6)
print(f"eval:  max |ours - torch| {(ours(xe) - ref(xe)).abs().max():.1e}")

# %% [markdown]
# Alg. 2 estimates Var[x] = m/(m-1) E_B[sigma_B^2] with the unbiased factor. With `momentum=None`
# the running statistics are that plain average over batches. For 2 maps of 4 x 4 pixels each
# channel sees m' = 32 values (Sec. 3.2), so the ratio should be 32/31.

# %%
bn = create("batchnorm", channels=8, momentum=None).double()
batch_vars = []
for k in range(5):
    xb = (k + 1) * torch.randn(2, 8, 4, 4, dtype=torch.float64)
    bn(xb)
    batch_vars.append(xb.var((0, 2, 3), unbiased=False))
ratio = (bn.running_var / torch.stack(batch_vars).mean(0)).mean()
print(f"Var[x] / E_B[sigma_B^2] = {ratio:.6f}   (32/31 = {32 / 31:.6f})")

# %% [markdown]
# At inference BN is one affine map per channel (Alg. 2, line 11), so a sample's output no longer
# depends on its batch; in training it does.

# %%
bn = create("batchnorm", channels=4)
xs = torch.randn(6, 4, 3, 3)
crowd = torch.cat([xs[:1], 10 * torch.randn(5, 4, 3, 3)])
print("train: sample 0 same in two batches?", torch.allclose(bn(xs)[:1], bn(crowd)[:1], atol=1e-5))
bn.eval()
print("eval:  sample 0 same in two batches?", torch.allclose(bn(xs)[:1], bn(crowd)[:1], atol=1e-5))
