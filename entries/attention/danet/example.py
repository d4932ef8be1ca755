# %% [markdown]
# # Dual attention: self-attention over positions and over channels
#
# Build the DANet block, check it starts as the identity, look at the two attention maps, and see how
# the paper's channel energy and the released code's differ.

# %%
import torch

from encyclo import create

torch.manual_seed(0)
da = create("danet", channels=512)
x = torch.randn(2, 512, 16, 16)
print("params", sum(p.numel() for p in da.parameters()), "| channel module params", sum(p.numel() for p in da.cam.parameters()))
print("identity at init (gamma = beta = 0):", torch.equal(da(x), x))

# %% [markdown]
# The position map is (HW x HW): each query position's weights over all positions sum to one.

# %%
with torch.no_grad():
    q = da.pam.query(x).flatten(2).transpose(1, 2)
    k = da.pam.key(x).flatten(2)
    s = torch.softmax(q @ k, -1)
print("position attention", tuple(s.shape), "| row sums", [round(v, 4) for v in s[0].sum(-1)[:3].tolist()])

# %% [markdown]
# The channel map is (C x C). Eq. 3 favours similar channels; the released code's `max - energy`
# favours dissimilar ones. Look at which channel gets the largest weight for channel 0.

# %%
feat = torch.randn(1, 8, 16, 16)
feat[:, 1] = feat[:, 0] + 0.1 * torch.randn(1, 16, 16)  # channel 1 is a near copy of channel 0
a = feat.flatten(2)
energy = a @ a.transpose(1, 2)
paper = torch.softmax(energy, -1)[0, 0]
official = torch.softmax(energy.amax(-1, keepdim=True) - energy, -1)[0, 0]
print("paper Eq. 3: channel 0 attends most to", int(paper.argmax()), f"(weight {paper.max():.3f})")
print("released code: channel 0 attends most to", int(official.argmax()), f"(weight on channel 1: {official[1]:.2e})")

# %% [markdown]
# It fills the attention slot of a ResNet and, thanks to the zero scales, leaves it unchanged at init.

# %%
r18 = create("resnet18", attention="danet").eval()
plain = create("resnet18").eval()
plain.load_state_dict(r18.state_dict(), strict=False)  # same backbone weights, no attention blocks
img = torch.randn(1, 3, 64, 64)
with torch.no_grad():
    print("same logits as ResNet-18 at init:", torch.allclose(r18(img), plain(img), atol=1e-5))
n = lambda m: sum(p.numel() for p in m.parameters())
print(f"ResNet-18 + dual attention: {n(r18):,} params (+{n(r18) - n(plain):,})")
