"""What is special about scSE (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch import nn

from encyclo import UnknownEntryError, create, entry


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _needs(name: str) -> None:
    try:
        entry(name)
    except UnknownEntryError:
        pytest.skip(f"no {name} entry registered")


def gate_is_channel_plus_spatial() -> bool:
    """Sec. 2.3: y = U_cSE + U_sSE, so y / x = s_c + s_ij, a channel vector plus a spatial map."""
    torch.manual_seed(0)
    scse = create("scse", channels=32).double()
    x = torch.rand(2, 32, 7, 9, dtype=torch.float64) + 0.5  # positive, so y / x is the gate
    with torch.no_grad():
        gate = scse(x) / x
        s_c, s_s = scse.channel_gate(x), scse.spatial_gate(x)
    resid = gate - gate.mean(1, keepdim=True) - gate.mean((2, 3), keepdim=True) + gate.mean((1, 2, 3), keepdim=True)
    return (float(resid.abs().max()) < 1e-12 and torch.allclose(gate, s_c + s_s, atol=1e-12)
            and bool(((s_c > 0) & (s_c < 1)).all()) and bool(((s_s > 0) & (s_s < 1)).all()))


def test_output_is_sum_of_cse_and_sse():
    assert gate_is_channel_plus_spatial()


def test_max_variant_matches_authors_code():
    torch.manual_seed(0)
    scse = create("scse", channels=16, combine="max")
    x = torch.randn(2, 16, 5, 6)
    with torch.no_grad():
        expected = torch.max(x * scse.channel_gate(x), x * scse.spatial_gate(x))
        assert torch.equal(scse(x), expected)
        add = create("scse", channels=16)
        add.load_state_dict(scse.state_dict())  # same weights, the paper's combination
        assert not torch.allclose(add(x), expected)


def test_cse_is_se_with_reduction_two():
    scse = create("scse", channels=64)
    assert scse.fc1.out_features == 32
    assert count(scse) == 2 * 64 * 32 + 32 + 64 + (64 + 1)


def test_spatial_gate_is_pointwise_in_space():
    # sSE uses a 1x1 convolution: changing one pixel changes the spatial gate at that pixel only.
    torch.manual_seed(0)
    scse = create("scse", channels=8)
    f = torch.randn(1, 8, 6, 6)
    g = f.clone()
    g[0, :, 2, 3] += 3.0
    with torch.no_grad():
        changed = (scse.spatial_gate(f) - scse.spatial_gate(g)).abs()[0, 0] > 0
    assert changed.sum() == 1 and changed[2, 3]


def test_channel_gate_is_global_over_space():
    torch.manual_seed(0)
    scse = create("scse", channels=16)
    x = torch.randn(2, 16, 6, 7)
    shuffled = x.flatten(2)[:, :, torch.randperm(42)].reshape_as(x)
    with torch.no_grad():
        assert torch.allclose(scse.channel_gate(x), scse.channel_gate(shuffled), atol=1e-6)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="combine"):
        create("scse", channels=8, combine="mul")
    with pytest.raises(ValueError, match="positive"):
        create("scse", channels=8, reduction=0)
    with pytest.raises(ValueError, match="shape"):
        create("scse", channels=8)(torch.randn(1, 4, 5, 5))


def test_fills_the_resnet_attention_slot_and_trains():
    _needs("resnet18")
    torch.manual_seed(0)
    net = create("resnet18", attention="scse", num_classes=10).train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss = nn.functional.cross_entropy(net(x), torch.tensor([1, 7]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
