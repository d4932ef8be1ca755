# %% [markdown]
# # Spectral Normalization: dividing a kernel by its largest singular value
#
# Normalize a convolution by power iteration, watch sigma(W_SN) approach 1 as the persistent vectors
# converge, and check the layer against torch's own parametrization.

# %%
import torch

from encyclo import create, module

torch.manual_seed(0)
conv = create("spectral_norm", channels=64)  # 3 x 3, 64 -> 64; one power iteration per training forward
x = torch.randn(4, 64, 16, 16)
print("output", tuple(conv(x).shape), "| params", sum(p.numel() for p in conv.parameters()),
      "| buffers u, v:", [tuple(b.shape) for b in conv.buffers()])


def sigma_max(w: torch.Tensor) -> float:
    """Largest singular value of a kernel viewed as a C_out x (C_in k k) matrix."""
    return torch.linalg.svdvals(w.detach().flatten(1))[0].item()


print(f"sigma(W) of the raw kernel: {sigma_max(conv.weight_orig):.4f}")

# %% [markdown]
# Every training forward runs one power iteration (Algorithm 1) from the stored u. The estimate
# u^T W v grows towards sigma(W) from below, so sigma(W_SN) = sigma(W) / estimate falls towards 1.

# %%
with torch.no_grad():
    for step in range(1, 201):
        conv(x[:1, :, :4, :4])
        if step in (1, 10, 50, 100, 200):
            conv.eval()
            print(f"after {step:3d} training forwards: sigma(W_SN) = {sigma_max(conv.weight):.5f}")
            conv.train()

# %% [markdown]
# Eval mode freezes u and v. With `order="torch"` (u from v, then v from u) and the same buffers, the
# layer is numerically torch's `spectral_norm`.

# %%
ours = create("spectral_norm", channels=64, order="torch")
ref = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Conv2d(64, 64, 3, padding=1))
ref.load_state_dict(ours.conv.state_dict())  # W, u and v
for _ in range(3):
    diff = (ours(x) - ref(x)).abs().max()
print(f"max |ours - torch| after 3 training forwards: {diff:.1e}")

# %% [markdown]
# The generic function normalizes any layer, e.g. a discriminator's Linear head.

# %%
head = module("spectral_norm").spectral_norm(torch.nn.Linear(256, 1), n_power_iterations=5)
head(torch.randn(2, 256))
print(f"Linear(256, 1): ||W_SN||_2 = {torch.linalg.matrix_norm(head.weight.detach(), ord=2):.6f}")
