"""What is special about Weight Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module

wn = module("weight_norm")


def _randomize(conv: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        conv.g.copy_(torch.rand(conv.g.shape, generator=gen, dtype=conv.g.dtype) + 0.5)
        conv.v.copy_(torch.randn(conv.v.shape, generator=gen, dtype=conv.v.dtype))


def filter_norm_equals_g() -> bool:
    """Sec. 2: with w = g v / ||v|| the length of each output channel's filter is g, whatever v is."""
    gen = torch.Generator().manual_seed(0)
    conv = create("weight_norm", channels=64).double()
    _randomize(conv, gen)
    norms = conv.weight.flatten(1).norm(dim=1)  # ||w_i|| over (C_in, kh, kw)
    return bool(torch.allclose(norms, conv.g.flatten(), rtol=1e-12, atol=0))


def data_dependent_init_standardizes() -> bool:
    """Sec. 3: after the data-dependent init the outputs on that batch have per-channel mean 0, std 1."""
    gen = torch.Generator().manual_seed(1)
    conv = create("weight_norm", channels=64).double()
    x = 3 * torch.randn(4, 64, 10, 12, generator=gen, dtype=torch.float64) + 1
    y = conv.data_dependent_init(x)(x)
    var, mean = torch.var_mean(y, dim=(0, 2, 3), correction=0)
    return bool(mean.abs().max() < 1e-9 and (var.sqrt() - 1).abs().max() < 1e-9)


def _torch_reference(conv) -> torch.nn.Module:
    ref = torch.nn.Conv2d(conv.channels, conv.channels, conv.kernel_size, padding=conv.kernel_size // 2,
                          bias=conv.conv.bias is not None).to(conv.v.dtype)
    ref = torch.nn.utils.parametrizations.weight_norm(ref, dim=0)
    ref.load_state_dict(conv.conv.state_dict())  # same keys: parametrizations.weight.original0 (g) / original1 (v)
    return ref


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("channels,k,bias", [(8, 3, True), (5, 1, False), (4, 5, True)])
def test_matches_torch_weight_norm_forward_and_gradients(dtype, tol, channels, k, bias):
    gen = torch.Generator().manual_seed(2)
    conv = create("weight_norm", channels=channels, kernel_size=k, bias=bias).to(dtype)
    _randomize(conv, gen)
    ref = _torch_reference(conv)
    x = torch.randn(2, channels, 7, 6, generator=gen, dtype=dtype)
    grad_out = torch.randn(2, channels, 7, 6, generator=gen, dtype=dtype)
    out, out_ref = conv(x), ref(x)
    torch.testing.assert_close(out, out_ref, rtol=tol, atol=tol)
    g, v = torch.autograd.grad((out * grad_out).sum(), (conv.g, conv.v))
    p = ref.parametrizations.weight
    g_ref, v_ref = torch.autograd.grad((out_ref * grad_out).sum(), (p.original0, p.original1))
    torch.testing.assert_close(g, g_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(v, v_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape,dim", [((6, 4, 3, 3), 0), ((5, 7), 0), ((4, 6, 3, 3), 1), ((5, 7), 1), ((3, 4), None)])
@pytest.mark.parametrize("training", [True, False])
def test_fused_parametrization_equals_reference_function(dtype, tol, shape, dim, training):
    # The parametrization runs torch._weight_norm; weight_norm_reference is Eq. 2 written out.
    gen = torch.Generator().manual_seed(6)
    param = torch.nn.Parameter(torch.randn(shape, generator=gen, dtype=dtype))
    holder = torch.nn.Module()
    holder.weight = param
    wn.weight_norm(holder, dim=dim).train(training)
    p = holder.parametrizations.weight
    with torch.no_grad():
        p.original0.mul_(torch.rand(p.original0.shape, generator=gen, dtype=dtype) + 0.5)  # g != ||v||
    grad_w = torch.randn(shape, generator=gen, dtype=dtype)
    fused = holder.weight
    reference = wn.weight_norm_reference(p.original0, p.original1, None if dim is None else dim)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((w * grad_w).sum(), (p.original0, p.original1)) for w in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_generic_function_on_linear_and_whole_tensor():
    gen = torch.Generator().manual_seed(3)
    lin = torch.nn.Linear(6, 4).double()
    w0 = lin.weight.detach().clone()
    wn.weight_norm(lin)  # dim 0: one g per output unit
    torch.testing.assert_close(lin.weight, w0)  # g = ||v|| at registration: same function as before
    assert lin.parametrizations.weight.original0.shape == (4, 1)
    ref = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(6, 4).double())
    ref.load_state_dict(lin.state_dict())
    x = torch.randn(3, 6, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(lin(x), ref(x))
    whole = wn.weight_norm(torch.nn.Linear(6, 4).double(), dim=None)  # one g for the whole matrix
    g = whole.parametrizations.weight.original0
    assert g.dim() == 0
    torch.testing.assert_close(whole.weight.norm(), g)


def test_gradient_of_v_is_orthogonal_to_v():
    # Eq. 3-4: grad_v L = g/||v|| M_w grad_w L with M_w = I - w w^T/||w||^2, a projection away from w
    # (and v), so v . grad_v L = 0 for each output unit, and ||v|| grows under gradient descent.
    gen = torch.Generator().manual_seed(4)
    conv = create("weight_norm", channels=6).double()
    _randomize(conv, gen)
    x = torch.randn(2, 6, 5, 5, generator=gen, dtype=torch.float64)
    (grad_v,) = torch.autograd.grad(conv(x).pow(3).sum(), (conv.v,))
    dots = (grad_v * conv.v).flatten(1).sum(1)
    torch.testing.assert_close(dots, torch.zeros_like(dots), rtol=0, atol=1e-10)
    # Eq. 3: grad_g L = grad_w L . v / ||v||
    w = conv.weight.detach().requires_grad_(True)
    (grad_w,) = torch.autograd.grad(torch.nn.functional.conv2d(x, w, conv.conv.bias, padding=1).pow(3).sum(), (w,))
    (grad_g,) = torch.autograd.grad(conv(x).pow(3).sum(), (conv.g,))
    expected = (grad_w * conv.v).flatten(1).sum(1) / conv.v.flatten(1).norm(dim=1)
    torch.testing.assert_close(grad_g.flatten(), expected.detach(), rtol=1e-10, atol=1e-10)


def test_output_invariant_to_scale_of_v():
    gen = torch.Generator().manual_seed(5)
    conv = create("weight_norm", channels=4).double()
    _randomize(conv, gen)
    x = torch.randn(1, 4, 6, 6, generator=gen, dtype=torch.float64)
    before = conv(x)
    with torch.no_grad():
        conv.v.mul_(torch.rand(4, 1, 1, 1, generator=gen, dtype=torch.float64) * 10 + 0.1)  # per channel
    torch.testing.assert_close(conv(x), before, rtol=1e-12, atol=1e-12)


def test_low_precision_and_invalid_arguments():
    conv = create("weight_norm", channels=8).to(torch.bfloat16)
    y = conv(torch.randn(2, 8, 5, 5, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="channels"):
        create("weight_norm", channels=0)
    with pytest.raises(ValueError, match="odd"):
        create("weight_norm", channels=4, kernel_size=2)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        create("weight_norm", channels=4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="bias"):
        create("weight_norm", channels=4, bias=False).data_dependent_init(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="dim"):
        wn.weight_norm(torch.nn.Linear(3, 2), dim=2)
    with pytest.raises(ValueError, match="no tensor parameter"):
        wn.weight_norm(torch.nn.ReLU())


def torch_reference(channels: int, kernel_size: int = 3, bias: bool = True) -> torch.nn.Module:
    """torch.nn.utils.parametrizations.weight_norm on the same convolution (bench times it beside this entry)."""
    conv = torch.nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
    return torch.nn.utils.parametrizations.weight_norm(conv, dim=0)
