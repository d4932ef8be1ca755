"""What is special about Layer Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module

# Sec. 5.1, Table 1: the columns, in the paper's order.
TABLE1_COLUMNS = ("weight matrix re-scaling", "weight matrix re-centering", "weight vector re-scaling",
                  "dataset re-scaling", "dataset re-centering", "single training case re-scaling")


def _transformed_outputs(eps: float = 1e-5) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LN(W x) for a batch x, and LN(W' x') under each transformation of Table 1, in float64.

    Sec. 5.1 studies h = f(g / sigma * (W x - mu) + b): the normalization of the summed inputs a = W x
    (Eq. 5). f is elementwise and applied afterwards, so invariance of the normalized output is
    invariance of h.
    """
    gen = torch.Generator().manual_seed(0)
    n, d_in, hidden = 8, 32, 64
    w = torch.randn(hidden, d_in, generator=gen, dtype=torch.float64)
    x = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    ln = create("layernorm", dim=hidden, eps=eps).double()
    with torch.no_grad():
        ln.weight.copy_(torch.rand(hidden, generator=gen, dtype=torch.float64) + 0.5)  # gain g
        ln.bias.copy_(torch.randn(hidden, generator=gen, dtype=torch.float64))  # bias b
        out = lambda w_, x_: ln(x_ @ w_.T)  # noqa: E731  a = W x for every case, then Eq. 3-4
        reference = out(w, x)
        gamma = torch.randn(d_in, generator=gen, dtype=torch.float64)
        one_row = torch.ones(hidden, 1, dtype=torch.float64)
        one_row[0] = 3.0
        per_case = torch.rand(n, 1, generator=gen, dtype=torch.float64) * 4 + 0.25
        transformed = [
            out(3.0 * w, x),  # W' = delta W
            out(w + torch.ones(hidden, 1, dtype=torch.float64) * gamma, x),  # W' = W + 1 gamma^T (Eq. 6)
            out(one_row * w, x),  # one incoming weight vector w_i scaled by delta
            out(w, 3.0 * x),  # every case x scaled by the same delta
            out(w, x + torch.randn(d_in, generator=gen, dtype=torch.float64)),  # every case shifted by c
            out(w, per_case * x),  # each case x_n scaled by its own delta_n (Eq. 7)
        ]
    return reference, transformed


def invariance_table_row() -> list[bool]:
    """Sec. 5.1, Table 1, the "Layer norm" row, measured: is the layer's output unchanged by each transformation?"""
    reference, transformed = _transformed_outputs()
    # eps = 1e-5 makes the scale invariances hold up to O(eps / sigma^2), < 1e-6 here; "No" cases differ by O(1).
    return [bool(torch.allclose(t, reference, rtol=0, atol=1e-5)) for t in transformed]


def test_table1_invariances_are_exact_without_eps():
    # Eq. 6 and 7 are exact identities for the paper's formula (no eps): only rounding remains.
    reference, transformed = _transformed_outputs(eps=0.0)
    distances = [float((t - reference).abs().max()) for t in transformed]
    invariant = [True, True, False, True, False, True]
    for name, d, inv in zip(TABLE1_COLUMNS, distances, invariant):
        assert (d < 1e-12) if inv else (d > 1e-2), f"{name}: max |difference| {d:.3g}"


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(5, 16), (3, 7, 32), (2, 4, 5, 8), (4, 1, 1), (2, 3, 768)])
@pytest.mark.parametrize("affine", [True, False])
def test_matches_torch_layer_norm(dtype, atol, shape, affine):
    gen = torch.Generator().manual_seed(1)
    dim = shape[-1]
    ours = create("layernorm", dim=dim, elementwise_affine=affine).to(dtype)
    ref = torch.nn.LayerNorm(dim, eps=1e-5, elementwise_affine=affine).to(dtype)
    if affine:
        with torch.no_grad():
            ours.weight.copy_(torch.randn(dim, generator=gen, dtype=dtype))
            ours.bias.copy_(torch.randn(dim, generator=gen, dtype=dtype))
        ref.load_state_dict(ours.state_dict())  # same parameter names: weights copy across directly
    x = 3 * torch.randn(shape, generator=gen, dtype=dtype) + 2  # off-centre, not unit-scale
    torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_equals_reference_function(dtype, tol, affine, training):
    # The forward dispatches to torch's fused kernel; layer_norm_reference is Eq. 3-4 written out.
    gen = torch.Generator().manual_seed(8)
    ln = create("layernorm", dim=40, elementwise_affine=affine).to(dtype).train(training)
    if affine:
        with torch.no_grad():
            ln.weight.copy_(torch.randn(40, generator=gen, dtype=dtype))
            ln.bias.copy_(torch.randn(40, generator=gen, dtype=dtype))
    x = (3 * torch.randn(3, 7, 40, generator=gen, dtype=dtype) + 2).requires_grad_(True)
    g = torch.randn(3, 7, 40, generator=gen, dtype=dtype)
    params = [x] + [p for p in (ln.weight, ln.bias) if p is not None]
    fused = ln(x)
    reference = module("layernorm").layer_norm_reference(x, ln.weight, ln.bias, ln.eps)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((y * g).sum(), params) for y in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_gradients_match_torch_layer_norm():
    gen = torch.Generator().manual_seed(2)
    ours = create("layernorm", dim=24).double()
    with torch.no_grad():
        ours.weight.copy_(torch.randn(24, generator=gen, dtype=torch.float64))
    ref = torch.nn.LayerNorm(24).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 24, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 5, 24, generator=gen, dtype=torch.float64)
    grads = [torch.autograd.grad((m(x) * g).sum(), (x, m.weight, m.bias)) for m in (ours, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_large_offset_is_numerically_sound():
    # Two-pass variance: tokens with mean 100 and std 0.01 still normalize in float32 to 1e-3 of the
    # float64 result on the same values; the one-pass E[a^2] - mu^2 is off by ~8 here (cancellation).
    gen = torch.Generator().manual_seed(3)
    x = (100 + 1e-2 * torch.randn(4, 6, 256, generator=gen, dtype=torch.float64)).float()
    ln = create("layernorm", dim=256, elementwise_affine=False)
    expected = ln.double()(x.double())
    torch.testing.assert_close(ln.float()(x).double(), expected, rtol=0, atol=5e-3)


def test_each_sample_is_normalized_on_its_own():
    # Sec. 3: the statistics come from a single training case, so the batch size does not matter.
    gen = torch.Generator().manual_seed(4)
    ln = create("layernorm", dim=32)
    x = torch.randn(6, 9, 32, generator=gen)
    together = ln(x)
    alone = torch.cat([ln(x[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)
    other = x.clone()
    other[1:] = 100 * torch.randn(5, 9, 32, generator=gen)  # change every other sample
    torch.testing.assert_close(ln(other)[0], together[0], rtol=0, atol=1e-6)


def test_output_has_zero_mean_unit_variance_per_token():
    # Eq. 3 with the initial gain 1 and bias 0 (Sec. 6).
    gen = torch.Generator().manual_seed(5)
    y = create("layernorm", dim=128).double()(5 * torch.randn(4, 7, 128, generator=gen, dtype=torch.float64) - 3)
    torch.testing.assert_close(y.mean(-1), torch.zeros(4, 7, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(4, 7, dtype=torch.float64), rtol=0, atol=1e-5)


def test_train_and_eval_compute_the_same():
    # Sec. 1: "layer normalization performs exactly the same computation at training and test times".
    gen = torch.Generator().manual_seed(6)
    ln = create("layernorm", dim=48)
    x = torch.randn(2, 11, 48, generator=gen)
    y_train = ln.train()(x)
    y_eval = ln.eval()(x)
    assert torch.equal(y_train, y_eval)
    assert len(list(ln.buffers())) == 0  # no running statistics to keep


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, 64, generator=gen) * 4 + 10
    ln = create("layernorm", dim=64)
    expected = ln(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = ln(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="dim"):
        create("layernorm", dim=0)
    with pytest.raises(ValueError, match="eps"):
        create("layernorm", dim=8, eps=-1.0)
    with pytest.raises(ValueError, match=r"\(\*, 8\)"):
        create("layernorm", dim=8)(torch.randn(2, 3, 7))
    with pytest.raises(ValueError, match="floating-point"):
        create("layernorm", dim=8)(torch.ones(2, 8, dtype=torch.long))


def torch_reference(dim: int, eps: float = 1e-5, elementwise_affine: bool = True) -> torch.nn.Module:
    """torch.nn.LayerNorm from the same arguments (bench times it beside this entry)."""
    return torch.nn.LayerNorm(dim, eps=eps, elementwise_affine=elementwise_affine)
