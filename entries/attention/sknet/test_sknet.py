"""What is special about the SK convolution (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def fuse_dim_at_256() -> int:
    """Eq. 4: d = max(C / r, L), read from the built layer W at C = 256."""
    return create("sknet", channels=256).fc[0].out_features


def fuse_dim_at_2048() -> int:
    return create("sknet", channels=2048).fc[0].out_features


def _reference(sk: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Eqs. 1-6 written out for M = 2 with explicit a_c = e^{A_c z} / (e^{A_c z} + e^{B_c z})."""
    u1, u2 = sk.convs[0](x), sk.convs[1](x)
    s = (u1 + u2).mean(dim=(2, 3))  # Eqs. 1-2
    z = sk.fc(s)  # Eq. 3
    c = sk.channels
    A, B = sk.select.weight[:c], sk.select.weight[c:]  # Eq. 5: A, B in R^{C x d}
    ea, eb = torch.exp(z @ A.T), torch.exp(z @ B.T)
    a, b = ea / (ea + eb), eb / (ea + eb)
    return a[:, :, None, None] * u1 + b[:, :, None, None] * u2  # Eq. 6


def test_select_is_eq5_softmax_over_two_branches():
    torch.manual_seed(0)
    sk = create("sknet", channels=64).eval()
    x = torch.randn(2, 64, 9, 11)
    with torch.no_grad():
        assert torch.allclose(sk(x), _reference(sk, x), atol=1e-5)
        a = sk.attention(x)
    assert a.shape == (2, 2, 64)
    assert torch.allclose(a.sum(dim=1), torch.ones(2, 64), atol=1e-6)


def test_second_branch_is_dilated_3x3_with_5x5_receptive_field():
    # Sec. 3.1: "the conventional convolution with a 5x5 kernel" is replaced by "3x3 kernel and dilation 2".
    sk = create("sknet", channels=64)
    conv3, conv5 = sk.convs[0][0], sk.convs[1][0]
    assert conv3.kernel_size == conv5.kernel_size == (3, 3)
    assert conv3.dilation == (1, 1) and conv5.dilation == (2, 2)
    assert conv3.groups == conv5.groups == 32
    # receptive field of one output pixel of the dilated branch: a 5 x 5 window
    x = torch.zeros(1, 64, 11, 11, requires_grad=True)
    conv5(x)[0, :, 5, 5].sum().backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1) == (5, 5)


def test_fuse_dim_follows_eq4():
    for c, d in [(64, 32), (256, 32), (512, 32), (1024, 64), (2048, 128)]:
        assert create("sknet", channels=c).fuse_dim == d
    assert create("sknet", channels=256, min_dim=8).fuse_dim == 16  # C / r once L is lowered


def test_three_branches_use_dilations_1_2_3():
    sk = create("sknet", channels=64, branches=3)
    assert [b[0].dilation for b in sk.convs] == [(1, 1), (2, 2), (3, 3)]
    assert sk.select.out_features == 3 * 64
    assert create("sknet", channels=64, branches=3).attention(torch.randn(2, 64, 5, 5)).shape == (2, 3, 64)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="sknet", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        create("sknet", channels=48)
    with pytest.raises(ValueError, match="branches"):
        create("sknet", channels=64, branches=0)
    with pytest.raises(ValueError, match="expected input"):
        create("sknet", channels=64)(torch.randn(2, 32, 4, 4))
