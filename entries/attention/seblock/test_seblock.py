"""What is special about the SE block (the generic suite covers shapes, gradients and claims)."""

import torch

from encyclo import create


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def se_resnet50_extra_params() -> int:
    """Sec. 4: SE-ResNet-50's parameters beyond ResNet-50's (all SE weights and biases)."""
    return count(create("resnet50", attention="seblock")) - count(create("resnet50"))


def test_extra_params_follow_eq5():
    # Eq. 5: (2/r) * sum_s N_s * C_s^2 weights, plus the biases C_s/r + C_s per block.
    stages = [(3, 256), (4, 512), (6, 1024), (3, 2048)]
    weights = sum(2 * n * c * c // 16 for n, c in stages)
    biases = sum(n * (c // 16 + c) for n, c in stages)
    assert weights == 2_514_944
    assert se_resnet50_extra_params() == weights + biases


def test_gate_is_per_channel_and_in_unit_interval():
    torch.manual_seed(0)
    se = create("seblock", channels=32, reduction=4)
    x = torch.rand(3, 32, 7, 5) + 0.5  # positive, so y / x is the gate
    gate = se(x) / x
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-6)
    assert bool(((gate > 0) & (gate < 1)).all())


def test_squeeze_is_global_average():
    # Eq. 2: the gate depends on x only through the per-channel spatial mean.
    torch.manual_seed(0)
    se = create("seblock", channels=16, reduction=4)
    x = torch.randn(1, 16, 6, 6)
    shuffled = x.flatten(2)[:, :, torch.randperm(36)].reshape_as(x)
    assert torch.allclose(se(x) / x, se(shuffled) / shuffled, atol=1e-5)


def test_narrow_layers_keep_one_hidden_unit():
    assert create("seblock", channels=8).fc1.out_features == 1
