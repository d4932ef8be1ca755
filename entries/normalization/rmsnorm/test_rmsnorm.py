"""What is special about RMSNorm (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module

# Table 1 of the paper (and the authors' README): the columns, in its order.
TABLE1_COLUMNS = ("weight matrix re-scaling", "weight matrix re-centering", "weight vector re-scaling",
                  "dataset re-scaling", "dataset re-centering", "single training case re-scaling")
RMSNORM_ROW = [True, False, False, True, False, True]
LAYERNORM_ROW = [True, True, False, True, False, True]


def _transformed_outputs(entry: str = "rmsnorm", **kw) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """norm(W x) for a batch x, and norm(W' x') under each transformation of Table 1, in float64.

    The table is about the normalized summed inputs a = W x of a layer; any elementwise non-linearity
    comes afterwards, so invariance of the normalized output is invariance of the layer's output.
    """
    gen = torch.Generator().manual_seed(0)
    n, d_in, hidden = 8, 32, 64
    w = torch.randn(hidden, d_in, generator=gen, dtype=torch.float64)
    x = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    norm = create(entry, dim=hidden, **kw).double()
    with torch.no_grad():
        norm.weight.copy_(torch.rand(hidden, generator=gen, dtype=torch.float64) + 0.5)  # gain g
        out = lambda w_, x_: norm(x_ @ w_.T)  # noqa: E731  a = W x for every case, then Eq. 4
        reference = out(w, x)
        gamma = torch.randn(d_in, generator=gen, dtype=torch.float64)
        one_row = torch.ones(hidden, 1, dtype=torch.float64)
        one_row[0] = 3.0
        per_case = torch.rand(n, 1, generator=gen, dtype=torch.float64) * 4 + 0.25
        transformed = [
            out(3.0 * w, x),  # W' = delta W
            out(w + torch.ones(hidden, 1, dtype=torch.float64) * gamma, x),  # W' = W + 1 gamma^T
            out(one_row * w, x),  # one incoming weight vector w_i scaled by delta
            out(w, 3.0 * x),  # every case x scaled by the same delta
            out(w, x + torch.randn(d_in, generator=gen, dtype=torch.float64)),  # every case shifted by c
            out(w, per_case * x),  # each case x_n scaled by its own delta_n
        ]
    return reference, transformed


def invariance_table_row() -> list[bool]:
    """Table 1, the "RMSNorm" row, measured: is the layer's output unchanged by each transformation?"""
    reference, transformed = _transformed_outputs()
    # Default eps (float64 machine epsilon) perturbs the scale invariances by ~1e-16; "no" cases move by O(1).
    return [bool(torch.allclose(t, reference, rtol=0, atol=1e-9)) for t in transformed]


def test_table1_rmsnorm_row_is_exact_without_eps():
    reference, transformed = _transformed_outputs(eps=0.0)
    for name, t, inv in zip(TABLE1_COLUMNS, transformed, RMSNORM_ROW):
        d = float((t - reference).abs().max())
        assert (d < 1e-12) if inv else (d > 1e-2), f"{name}: max |difference| {d:.3g}"


def test_differs_from_layernorm_only_in_re_centering():
    # The paper's hypothesis: keep LayerNorm's re-scaling invariance, drop re-centering invariance.
    # The layernorm entry's row differs from this one in the weight-matrix re-centering column only.
    reference, transformed = _transformed_outputs("layernorm", eps=0.0)
    ln_row = [bool(torch.allclose(t, reference, rtol=0, atol=1e-9)) for t in transformed]
    assert ln_row == LAYERNORM_ROW
    assert [a != b for a, b in zip(ln_row, invariance_table_row())] == [False, True, False, False, False, False]


def test_equals_layernorm_without_bias_on_zero_mean_inputs():
    # Authors' README: "When the mean of the inputs is exactly 0, then LayerNorm equals to RMSNorm".
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 7, 48, generator=gen, dtype=torch.float64)
    x = x - x.mean(-1, keepdim=True)
    rms = create("rmsnorm", dim=48, eps=1e-5).double()
    ln = torch.nn.LayerNorm(48, eps=1e-5, bias=False).double()
    with torch.no_grad():
        rms.weight.copy_(torch.randn(48, generator=gen, dtype=torch.float64))
    ln.load_state_dict(rms.state_dict())
    torch.testing.assert_close(rms(x), ln(x), rtol=1e-12, atol=1e-12)
    assert (rms(x + 1.0) - ln(x + 1.0)).abs().max() > 0.1  # a non-zero mean tells them apart


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(5, 16), (3, 7, 32), (2, 4, 5, 8), (4, 1, 1), (2, 3, 768)])
@pytest.mark.parametrize("eps", [None, 1e-6, 1e-5])
@pytest.mark.parametrize("affine", [True, False])
def test_matches_torch_rms_norm(dtype, atol, shape, eps, affine):
    gen = torch.Generator().manual_seed(2)
    dim = shape[-1]
    ours = create("rmsnorm", dim=dim, eps=eps, elementwise_affine=affine).to(dtype)
    ref = torch.nn.RMSNorm(dim, eps=eps, elementwise_affine=affine).to(dtype)
    if affine:
        with torch.no_grad():
            ours.weight.copy_(torch.randn(dim, generator=gen, dtype=dtype))
        ref.load_state_dict(ours.state_dict())  # same parameter name: weight (g)
    x = 3 * torch.randn(shape, generator=gen, dtype=dtype) + 2  # off-centre, not unit-scale
    torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("eps", [None, 1e-6, 0.0])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_equals_reference_function(dtype, tol, eps, affine, training):
    # The forward dispatches to torch.nn.functional.rms_norm; rms_norm_reference is Eq. 4 written out.
    gen = torch.Generator().manual_seed(8)
    norm = create("rmsnorm", dim=40, eps=eps, elementwise_affine=affine).to(dtype).train(training)
    if affine:
        with torch.no_grad():
            norm.weight.copy_(torch.randn(40, generator=gen, dtype=dtype))
    x = (3 * torch.randn(3, 7, 40, generator=gen, dtype=dtype) + 2).requires_grad_(True)
    g = torch.randn(3, 7, 40, generator=gen, dtype=dtype)
    params = [x] + ([norm.weight] if affine else [])
    fused = norm(x)
    reference = module("rmsnorm").rms_norm_reference(x, norm.weight, norm.eps)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((y * g).sum(), params) for y in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_gradients_match_torch_rms_norm():
    gen = torch.Generator().manual_seed(3)
    ours = create("rmsnorm", dim=24).double()
    with torch.no_grad():
        ours.weight.copy_(torch.randn(24, generator=gen, dtype=torch.float64))
    ref = torch.nn.RMSNorm(24).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 24, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 5, 24, generator=gen, dtype=torch.float64)
    grads = [torch.autograd.grad((m(x) * g).sum(), (x, m.weight)) for m in (ours, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_output_has_unit_rms_but_keeps_its_mean():
    # Eq. 4 with g = 1: every token lands on the sqrt(n)-radius sphere (RMS 1), but is not re-centered.
    gen = torch.Generator().manual_seed(4)
    x = 5 * torch.randn(4, 7, 128, generator=gen, dtype=torch.float64) + 3
    y = create("rmsnorm", dim=128).double()(x).detach()
    torch.testing.assert_close(y.square().mean(-1).sqrt(), torch.ones(4, 7, dtype=torch.float64), rtol=0, atol=1e-12)
    assert float(y.mean(-1).abs().min()) > 0.2


def test_scale_and_sign():
    # a -> delta a: the same output for delta > 0, the negated output for delta < 0.
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 6, 40, generator=gen, dtype=torch.float64)
    norm = create("rmsnorm", dim=40, eps=0.0).double()
    torch.testing.assert_close(norm(1e-3 * x), norm(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(norm(-7 * x), -norm(x), rtol=0, atol=1e-12)


def test_each_token_is_normalized_on_its_own():
    gen = torch.Generator().manual_seed(6)
    norm = create("rmsnorm", dim=32)
    x = torch.randn(6, 9, 32, generator=gen)
    together = norm(x)
    other = x.clone()
    other[1:] = 100 * torch.randn(5, 9, 32, generator=gen)
    torch.testing.assert_close(norm(other)[0], together[0], rtol=0, atol=1e-6)
    assert torch.equal(norm.train()(x), norm.eval()(x))
    assert len(list(norm.buffers())) == 0


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, 64, generator=gen) * 4 + 10
    norm = create("rmsnorm", dim=64)
    expected = norm(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = norm(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.02)
        ref = torch.nn.RMSNorm(64).to(dtype)  # eps=None: torch uses float32's epsilon here too
        torch.testing.assert_close(norm.to(dtype)(x.to(dtype)), ref(x.to(dtype)), rtol=0, atol=0)
        norm.float()


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="dim"):
        create("rmsnorm", dim=0)
    with pytest.raises(ValueError, match="eps"):
        create("rmsnorm", dim=8, eps=-1.0)
    with pytest.raises(ValueError, match=r"\(\*, 8\)"):
        create("rmsnorm", dim=8)(torch.randn(2, 3, 7))
    with pytest.raises(ValueError, match="floating-point"):
        create("rmsnorm", dim=8)(torch.ones(2, 8, dtype=torch.long))


def torch_reference(dim: int, eps=None, elementwise_affine: bool = True) -> torch.nn.Module:
    """torch.nn.RMSNorm from the same arguments (bench times it beside this entry)."""
    return torch.nn.RMSNorm(dim, eps=eps, elementwise_affine=elementwise_affine)
