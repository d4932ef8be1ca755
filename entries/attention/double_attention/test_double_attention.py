"""What is special about the double attention block (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _pairwise(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The same block computed the non-local way: A [softmax(B)^T softmax(V)], an explicit L x L matrix."""
    n, _, h, w = x.shape
    a = block.conv_a(x).flatten(2)  # (N, m, L)
    b = block.conv_b(x).flatten(2).softmax(-1)  # softmax over positions
    v = block.conv_v(x).flatten(2).softmax(1)  # softmax over the n descriptors
    pairwise = b.transpose(1, 2) @ v  # (N, L, L)
    z = (a @ pairwise).view(n, -1, h, w)
    return block.conv_out(z) + x


def gather_then_distribute_equals_pairwise_form() -> bool:
    torch.manual_seed(0)
    block = create("double_attention", channels=64).eval()
    x = torch.randn(2, 64, 12, 10)
    with torch.no_grad():
        return bool(torch.allclose(block(x), _pairwise(block, x), atol=1e-5))


def test_descriptors_are_attention_weighted_sums_over_positions():
    # Sec. 3.1: each descriptor g_j = sum_i softmax(b_j)_i a_i, a convex combination of the A features.
    torch.manual_seed(0)
    block = create("double_attention", channels=32)
    x = torch.randn(2, 32, 7, 9)
    with torch.no_grad():
        g = block.gather(x)  # (N, m, n)
        a = block.conv_a(x).flatten(2)
    assert g.shape == (2, 8, 8)
    lo, hi = a.min(-1, keepdim=True).values, a.max(-1, keepdim=True).values
    assert bool(((g >= lo - 1e-5) & (g <= hi + 1e-5)).all())


def test_gather_is_permutation_invariant():
    # The gathered set depends on the positions only through attention-weighted sums.
    torch.manual_seed(0)
    block = create("double_attention", channels=32)
    x = torch.randn(1, 32, 6, 6)
    perm = torch.randperm(36)
    shuffled = x.flatten(2)[:, :, perm].reshape_as(x)
    with torch.no_grad():
        assert torch.allclose(block.gather(x), block.gather(shuffled), atol=1e-5)


def test_distribution_is_global_and_residual():
    torch.manual_seed(0)
    block = create("double_attention", channels=16)
    x = torch.randn(1, 16, 9, 9, requires_grad=True)
    block(x)[0, :, 0, 0].sum().backward()
    assert x.grad[0, :, 5:, 5:].abs().sum() > 0  # a far corner reaches position (0, 0) in one block
    with torch.no_grad():
        plain = create("double_attention", channels=16, residual=False)
        plain.load_state_dict(block.state_dict())
        assert torch.allclose(block(x), plain(x) + x, atol=1e-6)


def test_cost_is_linear_in_positions():
    from torch.utils.flop_counter import FlopCounterMode

    block = create("double_attention", channels=64)
    macs = []
    for size in (8, 16):
        with FlopCounterMode(display=False) as counter:
            block(torch.randn(1, 64, size, size))
        macs.append(counter.get_total_flops() // 2)
    assert macs[1] == 4 * macs[0]  # 4x the positions, 4x the MACs (no L x L term)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="double_attention", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="c_m"):
        create("double_attention", channels=16, c_m=0)
    with pytest.raises(ValueError, match="expected input"):
        create("double_attention", channels=16)(torch.randn(1, 8, 3, 3))
