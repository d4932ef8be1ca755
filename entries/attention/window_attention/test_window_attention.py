"""What is special about (shifted-)window attention (the generic suite covers shapes, gradients and claims).

Checks: against the authors' procedure (window partition, cyclic shift, -100 mask, explicit softmax, as in
microsoft/Swin-Transformer's SwinTransformerBlock + WindowAttention) written out in float64; against a naive
full-map reference where each token attends only within its (shifted) window, i.e. the efficient batched
computation of Sec. 3.2 equals the plain definition; the bias table size; the complexity of Eq. 2.
"""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create
from encyclo.measure.counting import count_ops


def _module(dim=16, heads=2, m=7, shifted=False, res=None):
    torch.manual_seed(0)
    attn = create("window_attention", dim=dim, num_heads=heads, window_size=m, shifted=shifted,
                  input_resolution=res).double().eval()
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()  # a bias large enough to matter
        attn.qkv.bias.normal_(std=0.1)
    return attn


def _x(n, h, w, d, seed=1):
    return torch.randn(n, h * w, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _authors(attn, x, h, w):
    """The authors' forward (classification code; H, W multiples of M), rewritten without timm."""
    n, length, c = x.shape
    m, s, nh = attn.window_size, attn.shift_size, attn.num_heads
    grid = x.view(n, h, w, c)
    mask = None
    if s:
        img = torch.zeros(1, h, w, 1)
        cnt = 0
        for hs in (slice(0, -m), slice(-m, -s), slice(-s, None)):
            for ws in (slice(0, -m), slice(-m, -s), slice(-s, None)):
                img[:, hs, ws, :] = cnt
                cnt += 1
        mw = img.view(1, h // m, m, w // m, m, 1).permute(0, 1, 3, 2, 4, 5).reshape(-1, m * m)
        mask = (mw[:, None, :] - mw[:, :, None]).ne(0).double() * -100.0  # (nW, M^2, M^2)
        grid = torch.roll(grid, (-s, -s), (1, 2))
    win = grid.view(n, h // m, m, w // m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, m * m, c)
    b = win.shape[0]
    q, k, v = attn.qkv(win).reshape(b, m * m, 3, nh, c // nh).permute(2, 0, 3, 1, 4)
    logits = (q * (c // nh) ** -0.5) @ k.transpose(-2, -1)
    bias = attn.relative_position_bias_table[attn.relative_position_index.view(-1)].view(m * m, m * m, -1)
    logits = logits + bias.permute(2, 0, 1).unsqueeze(0)
    if mask is not None:
        nw = mask.shape[0]
        logits = (logits.view(b // nw, nw, nh, m * m, m * m) + mask[None, :, None]).view(-1, nh, m * m, m * m)
    out = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(b, m * m, c))
    grid = out.view(n, h // m, w // m, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
    if s:
        grid = torch.roll(grid, (s, s), (1, 2))
    return grid.reshape(n, length, c)


def _naive(attn, x, h, w):
    """Plain definition: every token attends to the tokens of its own window (displaced by s for SW-MSA, smaller
    windows at the borders, no cyclic shift), with the relative position bias B of Eq. 4, over the full map."""
    n, length, c = x.shape
    m, nh = attn.window_size, attn.num_heads
    s = attn.shift_size if max(h, w) > m else 0
    r, col = torch.arange(h).repeat_interleave(w), torch.arange(w).repeat(h)  # (L,) row / column of each token
    wr, wc = (r + m - s) // m if s else r // m, (col + m - s) // m if s else col // m  # window of each token
    same = (wr[:, None] == wr[None, :]) & (wc[:, None] == wc[None, :])  # (L, L)
    dr, dc = r[:, None] - r[None, :], col[:, None] - col[None, :]  # query - key offsets
    idx = ((dr + m - 1) * (2 * m - 1) + dc + m - 1).clamp(0, (2 * m - 1) ** 2 - 1)
    bias = attn.relative_position_bias_table[idx].permute(2, 0, 1)  # (h, L, L); used only where `same`
    q, k, v = attn.qkv(x).view(n, length, 3, nh, c // nh).permute(2, 0, 3, 1, 4)
    logits = (q @ k.transpose(-2, -1)) * (c // nh) ** -0.5 + bias
    logits = logits.masked_fill(~same, float("-inf"))
    return attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(n, length, c))


@pytest.mark.parametrize("shifted", [False, True])
@pytest.mark.parametrize("side,m", [(14, 7), (8, 4), (12, 3)])
def test_matches_the_authors_procedure(side, m, shifted):
    attn = _module(m=m, shifted=shifted)
    x = _x(2, side, side, 16)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _authors(attn, x, side, side))


@pytest.mark.parametrize("shifted", [False, True])
@pytest.mark.parametrize("hw,m", [((14, 14), 7), ((10, 13), 4), ((9, 9), 7), ((5, 6), 7), ((16, 8), 4)])
def test_cyclic_shift_with_mask_equals_the_plain_shifted_windows(hw, m, shifted):
    # Sec. 3.2: the efficient batch computation (cyclic shift + masking, padding to multiples of M) computes
    # exactly self-attention within the regular or displaced windows.
    h, w = hw
    attn = _module(m=m, shifted=shifted, res=None if h == w else hw)
    x = _x(2, h, w, 16)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _naive(attn, x, h, w))


def test_windows_do_not_see_each_other_without_shift():
    attn = _module(m=7)
    x = _x(1, 14, 14, 16)
    changed = x.clone().view(1, 14, 14, 16)
    changed[:, :7, :7] += 1.0  # only the top-left window
    with torch.no_grad():
        y, y2 = attn(x).view(1, 14, 14, 16), attn(changed.view(1, 196, 16)).view(1, 14, 14, 16)
    assert torch.equal(y[:, 7:], y2[:, 7:]) and torch.equal(y[:, :7, 7:], y2[:, :7, 7:])
    assert not torch.allclose(y[:, :7, :7], y2[:, :7, :7])
    shifted = _module(m=7, shifted=True)
    with torch.no_grad():  # shifted windows straddle the regular ones: the change reaches the next window
        assert not torch.allclose(shifted(x).view(1, 14, 14, 16)[:, :7, 7:10],
                                  shifted(changed.view(1, 196, 16)).view(1, 14, 14, 16)[:, :7, 7:10])


def test_bias_table_has_2m_minus_1_squared_rows_and_loads_authors_names():
    attn = create("window_attention", dim=96, num_heads=3, window_size=7)
    assert attn.relative_position_bias_table.shape == (13 * 13, 3)
    idx = attn.relative_position_index
    assert idx.shape == (49, 49) and idx.min() == 0 and idx.max() == 168 and idx[0, 0] == idx[48, 48] == 84
    assert set(attn.state_dict()) == {"qkv.weight", "qkv.bias", "proj.weight", "proj.bias",
                                      "relative_position_bias_table", "relative_position_index"}


def test_cost_is_eq2_and_linear_in_tokens():
    # Eq. 2: Omega(W-MSA) = 4 hw C^2 + 2 M^2 hw C (MACs), linear in hw; global MSA (Eq. 1) is quadratic.
    def macs(side, shifted=False):
        return count_ops(lambda: create("window_attention", dim=32, num_heads=2, shifted=shifted),
                         lambda device: (torch.randn(1, side * side, 32, device=device),), per_module=False).macs
    for side in (14, 28):
        assert macs(side) == macs(side, shifted=True) == 4 * side * side * 32 ** 2 + 2 * 49 * side * side * 32
    assert macs(28) == 4 * macs(14)


def test_low_precision_close_to_float32():
    attn = create("window_attention", dim=32, num_heads=2, shifted=True).eval()
    x = torch.randn(2, 196, 32, generator=torch.Generator().manual_seed(0))
    for dtype in (torch.bfloat16, torch.float16):
        out = attn.to(dtype)(x.to(dtype))
        assert out.dtype == dtype and torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), attn.float()(x), atol=5e-2, rtol=5e-2)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="perfect square"):
        create("window_attention", dim=32, num_heads=2)(torch.randn(1, 50, 32))
    with pytest.raises(ValueError):
        create("window_attention", dim=32, num_heads=2, input_resolution=(5, 9))(torch.randn(1, 50, 32))
    with pytest.raises(ValueError, match="divide"):
        create("window_attention", dim=32, num_heads=3)
    with pytest.raises(ValueError):
        create("window_attention", dim=32, num_heads=2)(torch.randn(1, 49, 16))
