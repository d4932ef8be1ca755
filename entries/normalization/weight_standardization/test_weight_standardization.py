"""What is special about Weight Standardization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module

ws = module("weight_standardization")


def _filters(conv) -> torch.Tensor:
    return conv.standardized_weight().detach().flatten(1)  # (C_out, C_in * k * k)


def per_filter_mean_abs_max() -> float:
    """The largest |mean| over the output filters of the standardized weight (64 channels, 3 x 3, float64),
    rounded to 9 decimals."""
    torch.manual_seed(0)
    conv = create("weight_standardization", channels=64).double()
    return round(_filters(conv).mean(dim=1).abs().max().item(), 9)


def per_filter_std_min() -> float:
    """The smallest standard deviation (1/I) over the output filters of the standardized weight, at
    PyTorch's default init (64 channels, 3 x 3, float64): sigma / (sigma + eps)."""
    torch.manual_seed(0)
    conv = create("weight_standardization", channels=64).double()
    return _filters(conv).std(dim=1, correction=0).min().item()


def _authors_pytorch_layer(x, weight, bias, padding):
    """The authors' PyTorch WS Conv2d (joe-siyuan-qiao/WeightStandardization), transcribed."""
    weight_mean = weight.mean(dim=1, keepdim=True).mean(dim=2, keepdim=True).mean(dim=3, keepdim=True)
    weight = weight - weight_mean
    std = weight.view(weight.size(0), -1).std(dim=1).view(-1, 1, 1, 1) + 1e-5
    weight = weight / std.expand_as(weight)
    return F.conv2d(x, weight, bias, 1, padding)


def test_standardized_filters_have_zero_mean_unit_std():
    gen = torch.Generator().manual_seed(1)
    conv = create("weight_standardization", channels=16, eps=0.0).double()
    with torch.no_grad():  # filters of arbitrary offsets and scales
        conv.weight.copy_(torch.randn(16, 16, 3, 3, generator=gen, dtype=torch.float64) * 5 + 3)
    w = _filters(conv)
    torch.testing.assert_close(w.mean(1), torch.zeros(16, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(w.std(1, correction=0), torch.ones(16, dtype=torch.float64), rtol=0, atol=1e-12)
    assert per_filter_mean_abs_max() == 0.0
    assert 0.999 < per_filter_std_min() < 1.0  # eps keeps it just below 1


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
def test_unbiased_matches_the_authors_pytorch_layer(dtype, tol):
    gen = torch.Generator().manual_seed(2)
    conv = create("weight_standardization", channels=8, unbiased=True, bias=True).to(dtype)
    x = torch.randn(2, 8, 6, 5, generator=gen, dtype=dtype, requires_grad=True)
    out = conv(x)
    ref = _authors_pytorch_layer(x, conv.weight, conv.bias, 1)
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    g = torch.randn_like(out)
    ours = torch.autograd.grad((out * g).sum(), (x, conv.weight))
    theirs = torch.autograd.grad((ref * g).sum(), (x, conv.weight))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_paper_and_code_estimators_differ_by_sqrt_of_bessel_factor():
    # 1/I (paper) vs 1/(I - 1) (authors' code): with eps = 0 the outputs differ by sqrt(I / (I - 1)).
    torch.manual_seed(3)
    a = create("weight_standardization", channels=4, eps=0.0).double()
    b = create("weight_standardization", channels=4, eps=0.0, unbiased=True).double()
    b.load_state_dict(a.state_dict())
    n = 4 * 3 * 3
    torch.testing.assert_close(a.standardized_weight(), b.standardized_weight() * (n / (n - 1)) ** 0.5)


def test_output_invariant_to_per_filter_shift_and_scale():
    # WS removes the first two moments of each filter: W_i -> a_i W_i + b_i (a_i > 0) leaves W_hat unchanged.
    gen = torch.Generator().manual_seed(4)
    conv = create("weight_standardization", channels=6, eps=0.0).double()
    x = torch.randn(2, 6, 7, 7, generator=gen, dtype=torch.float64)
    before = conv(x)
    with torch.no_grad():
        a = torch.rand(6, 1, 1, 1, generator=gen, dtype=torch.float64) * 10 + 0.1
        b = torch.randn(6, 1, 1, 1, generator=gen, dtype=torch.float64) * 3
        conv.weight.mul_(a).add_(b)
    torch.testing.assert_close(conv(x), before, rtol=1e-10, atol=1e-10)


def test_gradient_is_orthogonal_to_ones_and_to_the_standardized_filter():
    # Backpropagating through WS projects the gradient of each filter: it has zero mean and no component
    # along W_hat_i (eps = 0), so SGD on W cannot change a filter's mean, and only the direction matters.
    gen = torch.Generator().manual_seed(5)
    conv = create("weight_standardization", channels=5, eps=0.0).double()
    x = torch.randn(2, 5, 6, 6, generator=gen, dtype=torch.float64)
    (grad,) = torch.autograd.grad(conv(x).pow(3).sum(), (conv.weight,))
    grad = grad.flatten(1)
    torch.testing.assert_close(grad.sum(1), torch.zeros(5, dtype=torch.float64), rtol=0, atol=1e-9)
    torch.testing.assert_close((grad * _filters(conv)).sum(1), torch.zeros(5, dtype=torch.float64), rtol=0, atol=1e-9)


def test_functional_form_on_linear_weights_and_low_precision():
    w = torch.randn(10, 7, dtype=torch.float64) * 4 - 1
    w_hat = ws.standardize_weight(w, eps=0.0)
    torch.testing.assert_close(w_hat.std(1, correction=0), torch.ones(10, dtype=torch.float64))
    conv = create("weight_standardization", channels=8).to(torch.bfloat16)
    y = conv(torch.randn(2, 8, 5, 5, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        create("weight_standardization", channels=0)
    with pytest.raises(ValueError, match="odd"):
        create("weight_standardization", channels=4, kernel_size=2)
    with pytest.raises(ValueError, match="eps"):
        create("weight_standardization", channels=4, eps=-1.0)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        create("weight_standardization", channels=4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="weight of shape"):
        ws.standardize_weight(torch.randn(5))
