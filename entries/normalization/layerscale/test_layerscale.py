"""What is special about LayerScale (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module

ls_mod = module("layerscale")


def init_values_by_depth() -> list[float]:
    """Sec. LayerScale: the initial diagonal for depths 12, 18, 24, 36 and 48, read back from layers built
    with :func:`init_value_for_depth` (6 significant digits: the parameters are float32)."""
    values = []
    for depth in (12, 18, 24, 36, 48):
        layer = create("layerscale", dim=384, init_values=ls_mod.init_value_for_depth(depth))
        assert torch.all(layer.gamma == layer.gamma[0])  # one epsilon for the whole diagonal
        values.append(float(f"{layer.gamma[0].item():.6g}"))
    return values


def test_is_a_diagonal_matrix_product():
    gen = torch.Generator().manual_seed(0)
    layer = create("layerscale", dim=16).double()
    with torch.no_grad():
        layer.gamma.copy_(torch.randn(16, generator=gen, dtype=torch.float64))
    x = torch.randn(2, 5, 16, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ torch.diag(layer.gamma), rtol=1e-12, atol=1e-12)


def test_block_starts_close_to_identity():
    # Eq. 4: x' = x + diag(lambda) SA(eta(x)); with lambda = eps the update is eps times the branch output.
    gen = torch.Generator().manual_seed(1)
    dim = 32
    attn = torch.nn.MultiheadAttention(dim, 4, batch_first=True).double()
    norm = torch.nn.LayerNorm(dim).double()
    x = torch.randn(2, 7, dim, generator=gen, dtype=torch.float64)
    branch = attn(norm(x), norm(x), norm(x), need_weights=False)[0]
    for depth in (12, 24, 36):
        eps = ls_mod.init_value_for_depth(depth)
        out = x + create("layerscale", dim=dim, init_values=eps).double()(branch)
        ratio = (out - x).norm() / branch.norm()
        assert ratio.item() == pytest.approx(eps, rel=1e-6)


def test_matches_cait_block_formula_and_gradients():
    # The CaiT code: x = x + gamma_1 * attn(norm1(x)), gamma_1 = init_values * ones(dim).
    gen = torch.Generator().manual_seed(2)
    layer = create("layerscale", dim=8, init_values=1e-5).double()
    branch = torch.randn(3, 4, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    gamma_1 = torch.full((8,), 1e-5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 4, 8, generator=gen, dtype=torch.float64)
    ours = torch.autograd.grad((layer(branch) * g).sum(), (branch, layer.gamma))
    theirs = torch.autograd.grad((gamma_1 * branch * g).sum(), (branch, gamma_1))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-12)  # gamma stored as float32 1e-5


def test_init_value_for_depth_and_low_precision():
    assert init_values_by_depth() == [0.1, 0.1, 1e-5, 1e-6, 1e-6]
    assert ls_mod.init_value_for_depth(20) == 1e-5  # not in the paper: the depth-24 value
    layer = create("layerscale", dim=8)
    y = layer(torch.randn(2, 3, 8, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="dim"):
        create("layerscale", dim=0)
    with pytest.raises(ValueError, match="init_values"):
        create("layerscale", dim=4, init_values="small")
    with pytest.raises(ValueError, match=r"\(N, L, 4\)"):
        create("layerscale", dim=4)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="depth"):
        ls_mod.init_value_for_depth(0)
