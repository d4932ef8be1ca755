"""What is special about Inception-v3 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create


def test_table1_grid_sizes_at_299():
    # Table 1: 35x35x288 after the three Figure 5 modules, 17x17x768 after the Figure 6 modules, 8x8x2048 at the end.
    with torch.device("meta"):
        model = create("inception_v3").eval()
        x = torch.randn(1, 3, 299, 299)
    shapes = {}
    for name in ("maxpool2", "Mixed_5d", "Mixed_6a", "Mixed_6e", "Mixed_7a", "Mixed_7c"):
        getattr(model, name).register_forward_hook(lambda m, i, o, n=name: shapes.__setitem__(n, tuple(o.shape[1:])))
    model(x)
    assert shapes == {"maxpool2": (192, 35, 35), "Mixed_5d": (288, 35, 35), "Mixed_6a": (768, 17, 17),
                      "Mixed_6e": (768, 17, 17), "Mixed_7a": (1280, 8, 8), "Mixed_7c": (2048, 8, 8)}


def test_factorised_convolutions():
    with torch.device("meta"):
        model = create("inception_v3")
    # Sec. 3.1: a 5x5 replaced by two 3x3 (Figure 5).
    assert [model.Mixed_5b.branch3x3dbl_2.conv.kernel_size, model.Mixed_5b.branch3x3dbl_3.conv.kernel_size] == \
        [(3, 3), (3, 3)]
    # Sec. 3.2: n x n as 1 x n then n x 1 with n = 7 on the 17x17 grid (Figure 6).
    c = model.Mixed_6b
    assert [c.branch7x7_2.conv.kernel_size, c.branch7x7_3.conv.kernel_size] == [(1, 7), (7, 1)]
    # Figure 7: 1x3 and 3x1 side by side on the 8x8 grid.
    e = model.Mixed_7b
    assert [e.branch3x3_2a.conv.kernel_size, e.branch3x3_2b.conv.kernel_size] == [(1, 3), (3, 1)]
    # The factorised 7x7 costs 2 * 7 = 14 taps instead of 49 (Sec. 3.2: 33 % cheaper for 3x3 -> 1x3 + 3x1).
    taps = lambda conv: conv.kernel_size[0] * conv.kernel_size[1]  # noqa: E731
    assert taps(c.branch7x7_2.conv) + taps(c.branch7x7_3.conv) == 14


def test_grid_reduction_concatenates_pool_and_strided_convs():
    # Sec. 5 / Figure 10: reduce the grid with parallel stride-2 convolutions and a stride-2 pool.
    torch.manual_seed(0)
    model = create("inception_v3", num_classes=2).eval()
    x = torch.randn(1, 288, 35, 35)
    with torch.no_grad():
        y = model.Mixed_6a(x)
    assert y.shape == (1, 384 + 96 + 288, 17, 17)
    torch.testing.assert_close(y[:, -288:], nn.functional.max_pool2d(x, 3, 2))  # the pool branch is the input


def test_aux_head_forward_and_torchvision_keys():
    with torch.device("meta"):  # the aux head needs the 17x17 grid, i.e. 299 x 299 inputs
        model = create("inception_v3", aux_logits=True, num_classes=3).train()
        x = torch.randn(2, 3, 299, 299)
        assert model(x).shape == (2, 3)  # the io contract holds in train mode with the aux head
        logits, aux = model.forward_with_aux(x)
        assert logits.shape == aux.shape == (2, 3)
        with pytest.raises(ValueError, match="299"):
            model.forward_with_aux(torch.randn(2, 3, 75, 75))
    with torch.device("meta"):
        sd, sd_aux = create("inception_v3").state_dict(), create("inception_v3", aux_logits=True).state_dict()
    assert len(sd) == 566 and len(sd_aux) == 580
    assert set(sd_aux) - set(sd) == {f"AuxLogits.{k}" for k in (
        "conv0.conv.weight", "conv0.bn.weight", "conv0.bn.bias", "conv0.bn.running_mean", "conv0.bn.running_var",
        "conv0.bn.num_batches_tracked", "conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias",
        "conv1.bn.running_mean", "conv1.bn.running_var", "conv1.bn.num_batches_tracked", "fc.weight", "fc.bias")}
    assert list(sd)[:2] == ["Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight"]
    assert tuple(sd["Mixed_7c.branch3x3dbl_1.conv.weight"].shape) == (448, 2048, 1, 1)
    assert tuple(sd_aux["AuxLogits.conv1.conv.weight"].shape) == (768, 128, 5, 5)
    assert tuple(sd["fc.weight"].shape) == (1000, 2048)
    with pytest.raises(ValueError, match="aux_logits"):
        create("inception_v3", num_classes=3).forward_with_aux(torch.randn(1, 3, 75, 75))


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("inception_v3", num_classes=4, dropout=0.0)
    x, y = torch.randn(4, 3, 75, 75), torch.arange(4)  # 75 x 75: the smallest input torchvision allows
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="dropout"):
        create("inception_v3", dropout=2.0)
    with pytest.raises(ValueError, match="transform_input"):
        create("inception_v3", transform_input=True, in_chans=4)
    with pytest.raises(ValueError, match="expected input"):
        create("inception_v3", num_classes=2).eval()(torch.randn(1, 1, 75, 75))
