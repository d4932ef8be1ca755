"""What is special about Large Kernel Attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create


def _affected(lka: torch.nn.Module, size: int = 41) -> torch.Tensor:
    """Which pixels of the attention map change when one input pixel (the centre) changes: (size, size) bool."""
    torch.manual_seed(0)
    x = torch.randn(1, lka.channels, size, size, dtype=torch.float64)
    bumped = x.clone()
    bumped[:, :, size // 2, size // 2] += 1.0
    with torch.no_grad():
        delta = (lka.double().attention(bumped) - lka.attention(x)).abs().amax(dim=1)[0]
    return delta > 1e-12


def receptive_field() -> int:
    """Side of the square of attention-map pixels that one input pixel reaches (measured by perturbation)."""
    torch.manual_seed(0)
    hit = _affected(create("lka", channels=8))
    rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
    assert int(rows[-1] - rows[0] + 1) == int(cols[-1] - cols[0] + 1)
    return int(rows[-1] - rows[0] + 1)


def test_receptive_field_is_a_dilated_footprint_23_wide():
    torch.manual_seed(0)
    lka = create("lka", channels=8)
    assert receptive_field() == lka.receptive_field == 23
    # 5x5 dense footprint convolved with a 7x7 grid of stride 3: 23 x 23 with no holes (5 > 3).
    assert int(_affected(lka).sum()) == 23 * 23


def test_decomposition_of_k21_d3():
    lka = create("lka", channels=16)
    assert lka.conv0.kernel_size == (5, 5) and lka.conv0.groups == 16
    assert lka.conv_spatial.kernel_size == (7, 7) and lka.conv_spatial.dilation == (3, 3)
    assert lka.conv_spatial.groups == 16 and lka.conv1.kernel_size == (1, 1)


def test_output_is_attention_times_input_without_normalisation():
    torch.manual_seed(0)
    lka = create("lka", channels=8)
    x = torch.randn(2, 8, 12, 10)
    with torch.no_grad():
        attn = lka.attention(x)
        assert torch.allclose(lka(x), attn * x, atol=1e-6)
        # Eq. 2: no sigmoid/softmax, the map takes any sign
        assert bool((attn < 0).any() and (attn > 0).any())


def test_depthwise_pair_is_one_large_depthwise_kernel():
    # Sec. 3.2: the two depth-wise convs compose into one 23x23 depth-wise kernel (the decomposed large kernel).
    torch.manual_seed(0)
    lka = create("lka", channels=4).double()
    for conv in (lka.conv0, lka.conv_spatial):
        torch.nn.init.zeros_(conv.bias)
    impulse = torch.zeros(1, 4, 45, 45, dtype=torch.float64)
    impulse[:, :, 22, 22] = 1.0
    with torch.no_grad():
        response = lka.conv_spatial(lka.conv0(impulse))[0, :, 11:34, 11:34]  # (C, 23, 23), flipped kernel
        kernel = response.flip(-1, -2).unsqueeze(1)  # (C, 1, 23, 23)
        x = torch.randn(1, 4, 40, 40, dtype=torch.float64)
        stacked = lka.conv_spatial(lka.conv0(x))
        single = F.conv2d(x, kernel, padding=11, groups=4)
    assert int((kernel[:, 0].abs().sum(0) > 0).sum()) == 23 * 23
    # Away from the borders (where the zero padding between the two convs matters) they agree exactly.
    assert torch.allclose(stacked[..., 11:-11, 11:-11], single[..., 11:-11, 11:-11], atol=1e-10)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="lka", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        create("lka", channels=8, kernel_size=24, dilation=3)
    with pytest.raises(ValueError, match="expected input"):
        create("lka", channels=8)(torch.randn(1, 4, 3, 3))
