"""What is special about DenseNet (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, entry

IMAGENET = {  # growth rate k, block_config, initial maps (2k): Table 1 and the authors' DenseNet-161
    "densenet121": (32, (6, 12, 24, 16), 64),
    "densenet161": (48, (6, 12, 36, 24), 96),
    "densenet169": (32, (6, 12, 32, 32), 64),
    "densenet201": (32, (6, 12, 48, 32), 64),
}


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def depth(variant: str) -> int:
    """Weighted layers (convolutions and the classifier), the L in a DenseNet's name."""
    with torch.device("meta"):
        model = create(variant)
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def depth_densenet121() -> int:
    return depth("densenet121")


def depth_densenet161() -> int:
    return depth("densenet161")


def depth_densenet_bc_100() -> int:
    return depth("densenet_bc_100_k12")


def torchvision_layout(variant: str, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...]]]:
    """The (key, shape) list of torchvision's densenet state_dict, written out from its module structure.

    Derived independently of densenet.py: torchvision's ``features`` Sequential holds conv0, norm0, then
    denseblock{i} (denselayer{j} with norm1, conv1 (1x1, bn_size k maps), norm2, conv2 (3x3, k maps)) and
    transition{i} (norm, conv: 1x1 to num_features // 2), then norm5; then ``classifier``. Every BatchNorm2d
    holds weight, bias, running_mean, running_var and num_batches_tracked (a 0-d tensor).
    """
    k, blocks, c = IMAGENET[variant]

    def bn(name, ch):
        return [(f"{name}.{p}", (ch,)) for p in ("weight", "bias", "running_mean", "running_var")] + \
               [(f"{name}.num_batches_tracked", ())]

    keys = [("features.conv0.weight", (c, 3, 7, 7))] + bn("features.norm0", c)
    for i, n in enumerate(blocks, start=1):
        for j in range(1, n + 1):
            p = f"features.denseblock{i}.denselayer{j}"
            keys += bn(f"{p}.norm1", c) + [(f"{p}.conv1.weight", (4 * k, c, 1, 1))]
            keys += bn(f"{p}.norm2", 4 * k) + [(f"{p}.conv2.weight", (k, 4 * k, 3, 3))]
            c += k
        if i < len(blocks):
            keys += bn(f"features.transition{i}.norm", c) + [(f"features.transition{i}.conv.weight", (c // 2, c, 1, 1))]
            c //= 2
    keys += bn("features.norm5", c)
    return keys + [("classifier.weight", (num_classes, c)), ("classifier.bias", (num_classes,))]


def test_state_dict_is_torchvision_layout():
    # DenseNet-121: stem 1 + 5, 58 layers x (2 convs + 2 BNs x 5) = 696, 3 transitions x 6, norm5 5, fc 2 -> 727.
    assert len(torchvision_layout("densenet121")) == 727
    for variant in IMAGENET:
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == torchvision_layout(variant), variant


def test_torchvision_checkpoint_loads_strict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: (torch.tensor(3) if k.endswith("num_batches_tracked") else torch.randn(shape, generator=gen))
            for k, shape in torchvision_layout("densenet121", num_classes=10)}
    path = tmp_path / "densenet121_tv.pth"
    torch.save(ckpt, path)
    model = create("densenet121", num_classes=10)
    result = model.load_state_dict(torch.load(path, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    key = "features.denseblock3.denselayer24.conv2.weight"
    assert torch.equal(model.features.denseblock3.denselayer24.conv2.weight, ckpt[key])


def test_every_layer_reads_all_earlier_maps():
    # Eq. 2 and Sec. 3 "Growth rate": layer l reads k_0 + k (l - 1) maps, and the block output keeps its input
    # unchanged as the first k_0 channels, followed by the k new maps of each layer, in order.
    torch.manual_seed(0)
    model = create("densenet121").eval()
    block = model.features.denseblock1
    assert [layer.conv1.in_channels for layer in block.values()] == [64 + 32 * i for i in range(6)]
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        y = block(x)
        assert y.shape == (2, 64 + 6 * 32, 8, 8)
        assert torch.equal(y[:, :64], x)
        first = block.denselayer1([x])
        assert torch.allclose(y[:, 64:96], first)
        assert torch.allclose(y[:, 96:128], block.denselayer2([x, first]))


def test_transitions_compress_by_half_and_downsample():
    # Sec. 3 "Compression": theta = 0.5 halves the maps; "Pooling layers": 2x2 average pooling, stride 2.
    # DenseNet-121 at 224: 64 -> 256 -> 128 -> 512 -> 256 -> 1024 -> 512 -> 1024 maps; 56 -> 28 -> 14 -> 7.
    with torch.device("meta"):
        model = create("densenet121")
        x = torch.randn(1, 3, 224, 224)
    shapes = {}
    for name, m in model.features.named_children():
        if name.startswith(("denseblock", "transition")):
            m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    model(x)
    assert shapes == {"denseblock1": (256, 56, 56), "transition1": (128, 28, 28),
                      "denseblock2": (512, 28, 28), "transition2": (256, 14, 14),
                      "denseblock3": (1024, 14, 14), "transition3": (512, 7, 7), "denseblock4": (1024, 7, 7)}
    assert model.num_features == 1024
    assert create("densenet121", compression=1.0).features.transition1.conv.out_channels == 256  # DenseNet-B
    # floor(theta m) for odd m (Sec. 3): DenseNet-BC L=100, k=12: 24 + 16 * 12 = 216 -> 108 -> 108 + 192 = 300 -> 150
    cifar = create("densenet_bc_100_k12")
    assert [cifar.features.transition1.conv.out_channels, cifar.features.transition2.conv.out_channels] == [108, 150]


def test_bottleneck_is_4k_wide():
    # Sec. 3 "Bottleneck layers": "we let each 1x1 convolution produce 4k feature-maps".
    with torch.device("meta"):
        for variant, (k, _, _) in IMAGENET.items():
            layers = [m for m in create(variant).modules() if type(m).__name__ == "DenseLayer"]
            assert {(m.conv1.out_channels, m.conv2.out_channels) for m in layers} == {(4 * k, k)}


def test_memory_efficient_matches_standard():
    # Checkpointing recomputes the bottleneck in the backward pass; outputs and gradients are unchanged.
    torch.manual_seed(0)
    kw = dict(growth_rate=8, block_config=[2, 3], num_init_features=16, num_classes=5)
    a = create("densenet", **kw)
    b = create("densenet", memory_efficient=True, **kw)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 40, 40)
    ya, yb = a(x), b(x)
    assert torch.allclose(ya, yb, atol=1e-6)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-5), name


def test_smallest_input_is_29():
    # Five halvings (conv0, pool0 and three transitions) leave a 1x1 map at 29 x 29; at 28 the last
    # transition's 2x2 pooling has nothing left (torchvision's min_size is (29, 29)).
    model = create("densenet", growth_rate=8, block_config=[1, 1, 1, 1], num_init_features=16, num_classes=3).eval()
    assert model(torch.randn(1, 3, 29, 29)).shape == (1, 3)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 3, 28, 28))


def test_cifar_variants_follow_table2_layout():
    # DenseNet-BC (L, k) on CIFAR: a 3x3 stem with 2k maps, three blocks of (L - 4) / 6 layers, 32 x 32 input.
    for variant in ("densenet_bc_100_k12", "densenet_bc_250_k24", "densenet_bc_190_k40"):
        cfg = entry("densenet").variants[variant]
        L = int(variant.split("_")[2])
        assert cfg["block_config"] == [(L - 4) // 6] * 3 and cfg["num_init_features"] == 2 * cfg["growth_rate"]
        assert depth(variant) == L
    with torch.device("meta"):
        model = create("densenet_bc_100_k12")
        assert model.features.conv0.kernel_size == (3, 3) and model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_overfits_a_tiny_batch():
    # A small DenseNet-BC (CIFAR stem, three blocks of 4 bottleneck layers, k = 12) fits 8 random 16 x 16
    # images in a few Adam steps: gradients reach every layer through the concatenations.
    torch.manual_seed(0)
    model = create("densenet", stem="cifar", growth_rate=12, block_config=[4, 4, 4], num_init_features=24,
                   num_classes=4)
    x, y = torch.randn(8, 3, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="compression"):
        create("densenet121", compression=0.0)
    with pytest.raises(ValueError, match="block_config"):
        create("densenet", block_config=[])
    with pytest.raises(ValueError, match="stem"):
        create("densenet121", stem="tiny")
    with pytest.raises(ValueError, match="growth_rate"):
        create("densenet", growth_rate=0)
    with pytest.raises(ValueError, match="expected input"):
        create("densenet121")(torch.randn(1, 1, 64, 64))
