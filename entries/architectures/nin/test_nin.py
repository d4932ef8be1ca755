"""What is special about Network In Network (the generic suite covers shapes, gradients, determinism, claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

# The authors' NIN/cifar-10_def (mavenlin/cuda-convnet), written out layer by layer:
# (name, in, out, kernel, padding)
CIFAR10_DEF = [
    ("conv1", 3, 192, 5, 2), ("cccp1", 192, 160, 1, 0), ("cccp2", 160, 96, 1, 0),
    ("conv2", 96, 192, 5, 2), ("cccp3", 192, 192, 1, 0), ("cccp4", 192, 192, 1, 0),
    ("conv3", 192, 192, 3, 1), ("cccp5", 192, 192, 1, 0), ("cccp6", 192, 10, 1, 0),
]


def fully_connected_layers() -> int:
    """nn.Linear modules in the CIFAR-10 model (Sec. 3.2: none, global average pooling classifies)."""
    return sum(isinstance(m, nn.Linear) for m in create("nin_cifar10").modules())


def classifier_params() -> int:
    """Parameters after the last mlpconv layer (the global average pool)."""
    return sum(p.numel() for p in create("nin_cifar10").pool.parameters())


def mlpconv_layers() -> int:
    nin = module("nin")
    return sum(isinstance(m, nin.MLPConv) for m in create("nin_cifar10").modules())


def test_layers_match_the_authors_cifar10_def():
    convs = [m for m in create("nin_cifar10").modules() if isinstance(m, nn.Conv2d)]
    got = [(m.in_channels, m.out_channels, m.kernel_size[0], m.padding[0]) for m in convs]
    assert got == [row[1:] for row in CIFAR10_DEF]
    expected = sum(cin * cout * k * k + cout for _, cin, cout, k, _ in CIFAR10_DEF)
    assert expected == sum(p.numel() for p in create("nin_cifar10").parameters()) == 966986


def test_mlpconv_is_a_perceptron_slid_over_patches():
    # Sec. 3.1, Eq. 2: a 1x1 layer is the same fully connected layer applied at every position.
    torch.manual_seed(0)
    block = module("nin").MLPConv(4, (6, 5, 3), kernel_size=1, padding=0)
    x = torch.randn(2, 4, 7, 7)
    mlp = nn.Sequential(*[nn.Linear(m.in_channels, m.out_channels) if isinstance(m, nn.Conv2d) else m for m in block])
    for lin, conv in zip([m for m in mlp if isinstance(m, nn.Linear)], [m for m in block if isinstance(m, nn.Conv2d)]):
        lin.weight.data.copy_(conv.weight.flatten(1))
        lin.bias.data.copy_(conv.bias)
    assert torch.allclose(block(x), mlp(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), atol=1e-5)


def test_scores_are_spatial_means_of_class_maps():
    # Sec. 3.2: one feature map per category, averaged; no fully connected layer after it.
    torch.manual_seed(0)
    model = create("nin_cifar10").eval()
    x = torch.randn(2, 3, 32, 32)
    maps = model.forward_features(x)
    assert maps.shape == (2, 10, 8, 8)  # two 3x3/2 max pools (ceil mode): 32 -> 16 -> 8
    assert torch.allclose(model(x), maps.mean((2, 3)), atol=1e-6)
    # the same weights classify any input size: the pool is global
    assert model(torch.randn(1, 3, 48, 40)).shape == (1, 10)


def test_num_classes_sets_the_last_mlpconv_width():
    model = create("nin", num_classes=100)
    assert model.forward_features(torch.randn(1, 3, 32, 32)).shape[1] == 100
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 0


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    # The authors' topology at 1/8 of the width, on 16 x 16 images whose class shows in the channel means
    # (global average pooling averages i.i.d. noise away, so pure-noise images barely separate in a few steps).
    narrow = ((5, 2, (24, 20, 12)), (5, 2, (24, 24, 24)), (3, 1, (24, 24, 4)))
    # final_relu off: with a ReLU on the class maps a tiny random net can start with dead scores
    model = create("nin", config=narrow, num_classes=4, dropout=0.0, final_relu=False)
    y = torch.arange(8) % 4
    x = torch.randn(8, 3, 16, 16) + 2 * torch.randn(4, 3, 1, 1)[y]
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(40):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="dropout"):
        create("nin", dropout=1.5)
    with pytest.raises(ValueError, match="config"):
        create("nin", config=())
    with pytest.raises(ValueError, match="expected input"):
        create("nin")(torch.randn(1, 1, 32, 32))
