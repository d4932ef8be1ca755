"""What is special about External Attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from encyclo import create


def _macs(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(*shape, device="meta"))
    return counter.get_total_flops() // 2


def macs_ratio_when_pixels_double() -> float:
    """MACs at 1x512x32x64 over MACs at 1x512x32x32: 2.0 for a cost linear in H x W."""
    with torch.device("meta"):
        ea = create("external_attention", channels=512).eval()
    return _macs(ea, (1, 512, 32, 64)) / _macs(ea, (1, 512, 32, 32))


def test_double_normalization_of_eq5():
    torch.manual_seed(0)
    ea = create("external_attention", channels=32, memory_size=8)
    x = torch.randn(2, 32, 5, 6)
    with torch.no_grad():
        attn = ea.attention_map(x)  # (N, S, HW)
        logits = ea.mk(ea.conv_in(x).flatten(2))
    assert attn.shape == (2, 8, 30)
    # l1 over the memory slots: every position's weights sum to one
    assert torch.allclose(attn.sum(dim=1), torch.ones(2, 30), atol=1e-5)
    # and before it a softmax over the positions, per slot
    softmax = torch.softmax(logits, dim=-1)
    assert torch.allclose(attn, softmax / softmax.sum(dim=1, keepdim=True), atol=1e-6)


def test_memories_are_shared_across_samples():
    # External memories are independent of the input: a sample's output does not depend on the batch.
    torch.manual_seed(0)
    ea = create("external_attention", channels=16).eval()
    x = torch.randn(3, 16, 4, 4)
    with torch.no_grad():
        assert torch.allclose(ea(x)[1:2], ea(x[1:2]), atol=1e-5)


def test_cost_is_linear_not_quadratic_in_pixels():
    assert macs_ratio_when_pixels_double() == 2.0
    with torch.device("meta"):
        ea = create("external_attention", channels=64, memory_size=16).eval()
    # 2 S C HW for the memories + 2 C^2 HW for the block's 1x1 convs
    assert _macs(ea, (1, 64, 8, 8)) == 64 * (2 * 16 * 64 + 2 * 64 * 64)


def test_memories_start_tied_as_in_authors_code():
    ea = create("external_attention", channels=32, memory_size=8)
    assert torch.equal(ea.mv.weight, ea.mk.weight.permute(1, 0, 2))
    assert ea.mv.weight.data_ptr() != ea.mk.weight.data_ptr()  # a copy: they are trained independently


def test_residual_block_and_bare_branch():
    torch.manual_seed(0)
    ea = create("external_attention", channels=16).eval()
    bare = create("external_attention", channels=16, residual=False).eval()
    bare.load_state_dict(ea.state_dict())
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        assert torch.allclose(ea(x), torch.relu(bare(x) + x), atol=1e-6)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="external_attention", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="memory_size"):
        create("external_attention", channels=8, memory_size=0)
    with pytest.raises(ValueError, match="expected input"):
        create("external_attention", channels=8)(torch.randn(1, 4, 3, 3))
