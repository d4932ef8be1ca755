"""What is special about AlexNet (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create


def neurons_per_layer(model: nn.Module, size: int = 224) -> list[int]:
    """Output units of every convolutional and fully connected layer (after its ReLU), as Figure 2 counts them."""
    counts = []
    hooks = [m.register_forward_hook(lambda m, i, o: counts.append(o[0].numel()))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model(torch.randn(1, 3, size, size, device="meta"))
    for h in hooks:
        h.remove()
    return counts


def test_figure2_neurons_per_layer():
    # Figure 2 caption: "the number of neurons in the network's remaining layers is given by
    # 253,440-186,624-64,896-64,896-43,264-4096-4096-1000". Every figure after the first reproduces; the first
    # conv layer has 55 x 55 x 96 = 290,400 outputs (the caption's 253,440 is a known inconsistency).
    with torch.device("meta"):
        model = create("alexnet_paper").eval()
    counts = neurons_per_layer(model)
    assert counts[1:] == [186624, 64896, 64896, 43264, 4096, 4096, 1000]
    assert counts[0] == 55 * 55 * 96


def test_sec35_kernel_shapes_and_two_gpu_groups():
    with torch.device("meta"):
        model = create("alexnet_paper")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    # Sec. 3.5: 96 x 11x11x3, 256 x 5x5x48, 384 x 3x3x256, 384 x 3x3x192, 256 x 3x3x192.
    assert [tuple(c.weight.shape) for c in convs] == [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3),
                                                      (384, 192, 3, 3), (256, 192, 3, 3)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2] and convs[0].stride == (4, 4)
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.kernel_size == 3 and p.stride == 2 for p in pools)  # Sec. 3.4: z=3, s=2


def test_grouped_layer_sees_only_its_own_gpu_half():
    # Sec. 3.5: conv2's kernels on one GPU read only the conv1 maps on that GPU.
    torch.manual_seed(0)
    conv2 = create("alexnet_paper", hidden_features=8).features[4]
    x = torch.randn(1, 96, 13, 13)
    y = conv2(x)
    x2 = x.clone()
    x2[:, 48:] += 1.0  # change only the second GPU's maps
    y2 = conv2(x2)
    assert torch.equal(y[:, :128], y2[:, :128]) and not torch.equal(y[:, 128:], y2[:, 128:])


def test_local_response_normalisation_follows_sec33():
    # Sec. 3.3: b^i = a^i / (k + alpha sum_{j=max(0,i-n/2)}^{min(N-1,i+n/2)} (a^j)^2)^beta, k=2, n=5, alpha=1e-4, beta=.75
    lrn = create("alexnet_paper", hidden_features=8).features[2]
    assert type(lrn).__name__ == "LocalResponseNorm"
    torch.manual_seed(0)
    a = torch.rand(2, 12, 3, 3) * 50
    sq = nn.functional.pad(a.square(), (0, 0, 0, 0, 2, 2))  # zero maps beyond the ends
    window = sq.unfold(1, 5, 1).sum(-1)  # (N, C, H, W): sum over j in [i-2, i+2]
    expected = a / (2.0 + 1e-4 * window) ** 0.75
    torch.testing.assert_close(lrn(a), expected)
    torch.testing.assert_close(lrn(a), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a))  # PyTorch: alpha / n
    assert not any(type(m).__name__ == "LocalResponseNorm" for m in create("alexnet", hidden_features=8).modules())  # torchvision: none


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        sd = create("alexnet").state_dict()
    expected = {f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")}
    expected |= {f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")}
    assert set(sd) == expected and len(sd) == 16
    shapes = {"features.0.weight": (64, 3, 11, 11), "features.3.weight": (192, 64, 5, 5),
              "features.6.weight": (384, 192, 3, 3), "features.8.weight": (256, 384, 3, 3),
              "features.10.weight": (256, 256, 3, 3), "classifier.1.weight": (4096, 9216),
              "classifier.4.weight": (4096, 4096), "classifier.6.weight": (1000, 4096)}
    assert {k: tuple(sd[k].shape) for k in shapes} == shapes


def test_dropout_before_the_first_two_fc_layers():
    model = create("alexnet", hidden_features=8)
    drops = [i for i, m in enumerate(model.classifier) if isinstance(m, nn.Dropout)]
    assert drops == [0, 3] and all(model.classifier[i].p == 0.5 for i in drops)  # Sec. 4.2


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("alexnet", num_classes=4, dropout=0.0, hidden_features=64)
    x, y = torch.randn(8, 3, 64, 64), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    losses = []
    for _ in range(20):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_minimum_input_and_other_sizes():
    with torch.device("meta"):
        model = create("alexnet", num_classes=3, in_chans=1)
        assert model(torch.randn(2, 1, 63, 63)).shape == (2, 3)  # torchvision's min_size (63, 63)
        assert model.forward_features(torch.randn(1, 1, 256, 320)).shape == (1, 256, 7, 9)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="layout"):
        create("alexnet", layout="caffe")
    with pytest.raises(ValueError, match="dropout"):
        create("alexnet", dropout=1.5, hidden_features=8)
    with pytest.raises(ValueError, match="expected input"):
        create("alexnet", hidden_features=8)(torch.randn(1, 1, 64, 64))
