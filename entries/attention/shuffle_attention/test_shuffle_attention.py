"""What is special about Shuffle Attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def sa_resnet50_extra_params() -> int:
    """Parameters SA adds to ResNet-50 (G = 64 in all 16 bottlenecks, as in the authors' sa_resnet50)."""
    return count(create("resnet50", attention="shuffle_attention")) - count(create("resnet50"))


def _trained_looking(sa: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(1)
    for p in (sa.cweight, sa.cbias, sa.sweight, sa.sbias):
        torch.nn.init.normal_(p)
    return sa.eval()


def test_extra_params_follow_3c_over_g():
    stages = [(3, 256), (4, 512), (6, 1024), (3, 2048)]
    assert sa_resnet50_extra_params() == sum(n * 3 * c // 64 for n, c in stages) == 708


def test_output_is_shuffled_input_at_initialisation():
    # W = 0, b = 1 (authors' init): both gates are sigmoid(1), so the block is a scaled channel shuffle.
    sa = create("shuffle_attention", channels=128, groups=8)
    x = torch.randn(2, 128, 5, 6)
    expected = module("shuffle_attention").channel_shuffle(x, 2) * torch.sigmoid(torch.tensor(1.0))
    assert torch.allclose(sa(x), expected, atol=1e-6)


def test_channel_gate_is_constant_over_space_and_spatial_gate_uses_gn_statistics():
    sa = _trained_looking(create("shuffle_attention", channels=64, groups=4))
    x = torch.randn(2, 64, 7, 5)
    with torch.no_grad():
        channel_gate, spatial_gate = sa.gates(x)
        assert channel_gate.shape == (2 * 4, 8, 1, 1) and spatial_gate.shape == (2 * 4, 8, 7, 5)
        # Eq. 3: the spatial gate depends on x only through GN(x): an affine change of x leaves it unchanged.
        assert torch.allclose(sa.gates(3 * x + 2)[1], spatial_gate, atol=1e-4)


def test_channel_shuffle_interleaves_the_two_halves():
    x = torch.arange(8.0).reshape(1, 8, 1, 1)
    out = module("shuffle_attention").channel_shuffle(x, 2).flatten().tolist()
    assert out == [0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]


def test_every_output_channel_is_a_gated_input_channel():
    # Gates lie in (0, 1) and the shuffle is a permutation: |y| < |x| channel by channel after un-shuffling.
    sa = _trained_looking(create("shuffle_attention", channels=32, groups=2))
    x = torch.randn(1, 32, 4, 4)
    with torch.no_grad():
        y = sa(x)
    perm = module("shuffle_attention").channel_shuffle(torch.arange(32.0).reshape(1, 32, 1, 1), 2).flatten().long()
    ratio = y / x[:, perm]
    assert bool(((ratio > 0) & (ratio < 1)).all())


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    # ResNet-18's 64-channel stage needs G <= 32 (C divisible by 2G).
    model = create("resnet18", attention=lambda c: create("shuffle_attention", channels=c, groups=16), num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_channels_not_divisible_by_2g():
    with pytest.raises(ValueError, match="divisible by 2 \\* groups = 128"):
        create("shuffle_attention", channels=64)
    with pytest.raises(ValueError, match="expected input"):
        create("shuffle_attention", channels=128)(torch.randn(1, 64, 3, 3))
