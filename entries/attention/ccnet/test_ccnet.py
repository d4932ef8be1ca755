"""What is special about criss-cross attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _active(block: torch.nn.Module, gamma: float = 1.0) -> torch.nn.Module:
    """Give the block a non-zero scale so that the attention branch shows in the output."""
    with torch.no_grad():
        block.gamma.fill_(gamma)
    return block.eval()


def _support(block: torch.nn.Module, h: int, w: int, i: int, j: int) -> torch.Tensor:
    """(H, W) bool map of input positions that influence output position (i, j)."""
    torch.manual_seed(0)
    x = torch.randn(1, block.channels, h, w, requires_grad=True)
    block(x)[0, :, i, j].sum().backward()
    return x.grad[0].abs().sum(0) > 0


def attention_support() -> int:
    """Sec. 3.2: one module connects u to the H + W - 1 positions of its row and column (13 + 15 - 1 = 27)."""
    torch.manual_seed(0)
    block = _active(create("ccnet", channels=64))
    return int(_support(block, 13, 15, 4, 7).sum())


def max_abs_change_at_init() -> float:
    torch.manual_seed(0)
    block = create("ccnet", channels=512, recurrence=2)
    x = torch.randn(2, 512, 9, 11)
    with torch.no_grad():
        return float((block(x) - x).abs().max())


def _reference(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Eqs. 1-2 with explicit loops over the criss-cross path of every position (small inputs only)."""
    q, k, v = block.query(x), block.key(x), block.value(x)
    out = torch.zeros_like(x)
    _, _, h, w = x.shape
    for i in range(h):
        for j in range(w):
            path = [(g, j) for g in range(h)] + [(i, c) for c in range(w) if c != j]  # H + W - 1 positions
            d = torch.stack([(q[:, :, i, j] * k[:, :, a, b]).sum(1) for a, b in path], -1)  # Eq. 1
            att = d.softmax(-1)
            out[:, :, i, j] = sum(att[:, n, None] * v[:, :, a, b] for n, (a, b) in enumerate(path))
    return block.gamma * out + x  # Eq. 2


def test_matches_explicit_criss_cross_path():
    torch.manual_seed(0)
    block = _active(create("ccnet", channels=16, reduction=4), gamma=0.5)
    x = torch.randn(2, 16, 4, 5)
    with torch.no_grad():
        assert torch.allclose(block(x), _reference(block, x), atol=1e-5)


def test_attention_has_h_plus_w_minus_1_weights_summing_to_one():
    torch.manual_seed(0)
    block = create("ccnet", channels=32)
    x = torch.randn(2, 32, 6, 9)
    with torch.no_grad():
        a = block.attention(x)
    assert a.shape == (2, 6, 9, 15)
    assert torch.allclose(a.sum(-1), torch.ones(2, 6, 9), atol=1e-5)
    assert bool(((a > 0).sum(-1) == 6 + 9 - 1).all())  # the self entry of the column is masked out


def test_support_is_exactly_the_row_and_column():
    block = _active(create("ccnet", channels=16))
    support = _support(block, 7, 8, 2, 5)
    expected = torch.zeros(7, 8, dtype=torch.bool)
    expected[2, :] = True
    expected[:, 5] = True
    assert torch.equal(support, expected)


def test_two_loops_reach_every_position():
    # Sec. 3.3: with R = 2 (shared weights) information flows from any position to any other.
    block = _active(create("ccnet", channels=16, recurrence=2))
    assert bool(_support(block, 7, 8, 2, 5).all())
    one = create("ccnet", channels=16)
    assert sum(p.numel() for p in block.parameters()) == sum(p.numel() for p in one.parameters())


def test_degenerate_sizes():
    block = _active(create("ccnet", channels=16))
    for h, w in [(1, 1), (1, 7), (5, 1)]:
        with torch.no_grad():
            a = block.attention(torch.randn(1, 16, h, w))
        assert torch.isfinite(a).all() and ((a > 0).sum(-1) == h + w - 1).all()


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="ccnet", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="recurrence"):
        create("ccnet", channels=16, recurrence=0)
    with pytest.raises(ValueError, match="expected input"):
        create("ccnet", channels=16)(torch.randn(1, 8, 3, 3))
