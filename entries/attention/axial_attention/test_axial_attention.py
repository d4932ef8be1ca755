"""What is special about axial attention (the generic suite covers shapes, gradients, claims and the ResNet-50 slot).

Checks: each axial layer is multi-head attention within columns (rows) and never across them; the block
reaches every pixel after both layers; the layers equal torch.nn.MultiheadAttention applied to every column
and row; the cost is 2 H W (H + W) C plus the projections, against (H W)^2 for full attention.
"""

import pytest
import torch
from torch import nn

from encyclo import create
from encyclo.measure.counting import count_ops


def _changed(fn, i: int = 5, j: int = 9, size: int = 32, channels: int = 16) -> torch.Tensor:
    """Which output pixels change when input pixel (i, j) changes: (H, W) boolean."""
    torch.manual_seed(0)
    x = torch.randn(1, channels, size, size, dtype=torch.float64)
    y = x.clone()
    y[0, :, i, j] += torch.randn(channels, dtype=torch.float64)
    with torch.no_grad():
        return (fn(x) - fn(y)).abs().amax(1)[0] > 1e-12


def _block() -> nn.Module:
    torch.manual_seed(0)
    return create("axial_attention", channels=16, num_heads=4).double().eval()


def pixels_reached_by_one_axial_layer() -> int:
    """Claim: outputs of the layer along H that change when one input pixel changes (32 x 32 map)."""
    return int(_changed(_block().attend_height).sum())


def pixels_reached_by_the_block() -> int:
    """Claim: outputs of the whole block (H then W) that change when one input pixel changes (32 x 32 map)."""
    return int(_changed(_block()).sum())


def test_single_axis_layers_stay_in_their_column_or_row():
    block = _block()
    col = _changed(block.attend_height, i=5, j=9)
    assert col[:, 9].all() and not col[:, torch.arange(32) != 9].any()  # exactly column j
    row = _changed(block.attend_width, i=5, j=9)
    assert row[5, :].all() and not row[torch.arange(32) != 5, :].any()  # exactly row i
    assert _changed(block).all()  # H then W: every pixel


def test_layers_equal_multihead_attention_on_every_column_and_row():
    torch.manual_seed(0)
    block = create("axial_attention", channels=16, num_heads=4).double().eval()
    x = torch.randn(2, 16, 5, 7, dtype=torch.float64)

    def mha(axis):
        ref = nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64).eval()
        ref.in_proj_weight.data.copy_(axis.qkv.weight)
        ref.in_proj_bias.data.copy_(axis.qkv.bias)
        ref.out_proj.weight.data.copy_(axis.out.weight)
        ref.out_proj.bias.data.copy_(axis.out.bias)
        return lambda s: ref(s, s, s, need_weights=False)[0]

    along_h, along_w = mha(block.height), mha(block.width)
    expected = torch.empty_like(x)
    for j in range(7):  # reference loop over columns: (N, H, C) sequences
        expected[:, :, :, j] = along_h(x[:, :, :, j].transpose(1, 2)).transpose(1, 2)
    mid = expected.clone()
    for i in range(5):  # then over rows: (N, W, C) sequences
        expected[:, :, i, :] = along_w(mid[:, :, i, :].transpose(1, 2)).transpose(1, 2)
    with torch.no_grad():
        torch.testing.assert_close(block.attend_height(x), mid)
        torch.testing.assert_close(block(x), expected)


def test_cost_formula_and_against_full_attention():
    def macs(c, h, w):
        return count_ops(lambda: create("axial_attention", channels=c, num_heads=8),
                         lambda device: (torch.randn(1, c, h, w, device=device),), per_module=False).macs
    for c, h, w in ((64, 32, 32), (32, 12, 20)):
        assert macs(c, h, w) == 8 * h * w * c * c + 2 * h * w * (h + w) * c
    full = 2 * (32 * 32) ** 2 * 64  # full self-attention over 1024 positions: 2 N^2 C
    assert 2 * 32 * 32 * 64 * 64 < full / 8  # the axial attention term is 16x smaller here


def test_any_size():
    block = create("axial_attention", channels=32, num_heads=4).eval()
    for h, w in ((1, 1), (3, 17), (16, 5)):
        assert block(torch.randn(2, 32, h, w)).shape == (2, 32, h, w)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("axial_attention", channels=30, num_heads=8)
    with pytest.raises(ValueError):
        create("axial_attention", channels=32)(torch.randn(2, 16, 4, 4))
