"""What is special about Batch Renormalization (the generic suite covers shapes, gradients and claims)."""

import math

import pytest
import torch

import encyclo
from encyclo import create


def _randomize_affine(m: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype))
        m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=m.bias.dtype))


def _with_moving_stats(m: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen, dtype=m.running_mean.dtype))
        m.running_std.copy_(torch.rand(m.running_std.shape, generator=gen, dtype=m.running_std.dtype) * 2 + 0.5)


def equals_batchnorm_when_r_max_1_d_max_0() -> bool:
    """r_max = 1, d_max = 0 clip r to 1 and d to 0: the training transform is Batch Norm's (Algorithm 1).

    Compared with torch.nn.BatchNorm2d (same gamma, beta, eps) on outputs and input gradients over three
    steps, with moving statistics set far from the batch ones so that clipping really acts.
    """
    gen = torch.Generator().manual_seed(0)
    brn = create("batch_renorm", channels=8, r_max=1.0, d_max=0.0).double()
    _randomize_affine(brn, gen)
    _with_moving_stats(brn, gen)
    bn = torch.nn.BatchNorm2d(8, eps=brn.eps).double()
    with torch.no_grad():
        bn.weight.copy_(brn.weight)
        bn.bias.copy_(brn.bias)
    ok = True
    for step in range(3):
        x = (3 * torch.randn(4, 8, 5, 5, generator=gen, dtype=torch.float64) + step).requires_grad_(True)
        g = torch.randn(4, 8, 5, 5, generator=gen, dtype=torch.float64)
        y1, y2 = brn(x), bn(x)
        (d1,) = torch.autograd.grad((y1 * g).sum(), x)
        (d2,) = torch.autograd.grad((y2 * g).sum(), x)
        ok &= bool((y1 - y2).abs().max() < 1e-12 and (d1 - d2).abs().max() < 1e-12)
    return ok


def train_equals_inference_when_batch_stats_match() -> bool:
    """With mu = mu_B and sigma = sigma_B, r = 1 and d = 0 and training computes (x - mu) / sigma."""
    gen = torch.Generator().manual_seed(1)
    brn = create("batch_renorm", channels=8).double()
    _randomize_affine(brn, gen)
    x = 2 * torch.randn(6, 8, 4, 4, generator=gen, dtype=torch.float64) - 1
    with torch.no_grad():
        brn.running_mean.copy_(x.mean(dim=(0, 2, 3)))
        brn.running_std.copy_(torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + brn.eps))
    inference = brn.eval()(x)
    training = brn.train()(x)
    return bool((training - inference).abs().max() < 1e-12)


def train_equals_inference_when_unclipped() -> bool:
    """Sec. 3: (x - mu_B) / sigma_B * r + d = (x - mu) / sigma for unclipped r, d: for any batch and any mu, sigma."""
    gen = torch.Generator().manual_seed(2)
    brn = create("batch_renorm", channels=8, r_max=math.inf, d_max=math.inf).double()
    _randomize_affine(brn, gen)
    _with_moving_stats(brn, gen)
    ok = True
    for _ in range(3):
        x = 4 * torch.randn(3, 8, 5, 4, generator=gen, dtype=torch.float64) + 2
        inference = brn.eval()(x)  # with the moving statistics before this step's update
        training = brn.train()(x)
        ok &= bool((training - inference).abs().max() < 1e-12)
    return ok


def test_claims_measure_the_paper_figures():
    assert equals_batchnorm_when_r_max_1_d_max_0() is True
    assert train_equals_inference_when_batch_stats_match() is True
    assert train_equals_inference_when_unclipped() is True


def test_matches_algorithm_1_written_out():
    gen = torch.Generator().manual_seed(3)
    brn = create("batch_renorm", channels=5, r_max=1.5, d_max=0.5, momentum=0.3).double()
    _randomize_affine(brn, gen)
    _with_moving_stats(brn, gen)
    mu, sigma = brn.running_mean.clone(), brn.running_std.clone()
    x = torch.randn(4, 5, 3, 3, generator=gen, dtype=torch.float64) * 3 + 2
    mu_b = x.mean(dim=(0, 2, 3))
    sigma_b = torch.sqrt(brn.eps + x.var(dim=(0, 2, 3), unbiased=False))
    r = (sigma_b / sigma).clamp(1 / 1.5, 1.5)
    d = ((mu_b - mu) / sigma).clamp(-0.5, 0.5)
    c = (1, 5, 1, 1)
    x_hat = (x - mu_b.reshape(c)) / sigma_b.reshape(c) * r.reshape(c) + d.reshape(c)
    expected = brn.weight.reshape(c) * x_hat + brn.bias.reshape(c)
    torch.testing.assert_close(brn(x), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(brn.running_mean, mu + 0.3 * (mu_b - mu), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(brn.running_std, sigma + 0.3 * (sigma_b - sigma), rtol=1e-12, atol=1e-12)
    assert int(brn.num_batches_tracked) == 1
    brn.eval()
    x = torch.randn(2, 5, 3, 3, generator=gen, dtype=torch.float64)
    expected = brn.weight.reshape(c) * (x - brn.running_mean.reshape(c)) / brn.running_std.reshape(c) + brn.bias.reshape(c)
    torch.testing.assert_close(brn(x), expected, rtol=1e-12, atol=1e-12)


def test_r_and_d_receive_no_gradient():
    # Algorithm 1: r and d are stop_gradient(...): the gradient w.r.t. x equals that of
    # r * BN(x) + d with r and d frozen, NOT that of the inference transform (x - mu) / sigma.
    gen = torch.Generator().manual_seed(4)
    brn = create("batch_renorm", channels=4, r_max=math.inf, d_max=math.inf).double()
    _with_moving_stats(brn, gen)
    x = torch.randn(3, 4, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 4, 4, 4, generator=gen, dtype=torch.float64)
    sigma = brn.running_std.clone().reshape(1, 4, 1, 1)
    (grad,) = torch.autograd.grad((brn(x) * g).sum(), x)
    bn = torch.nn.BatchNorm2d(4, eps=brn.eps, affine=False).double()
    x2 = x.detach().clone().requires_grad_(True)
    r = torch.sqrt(x2.detach().var(dim=(0, 2, 3), unbiased=False) + brn.eps).reshape(1, 4, 1, 1) / sigma
    (expected,) = torch.autograd.grad((bn(x2) * r * g).sum(), x2)
    torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-10)
    assert (grad - g / sigma).abs().max() > 1e-3  # not the gradient of (x - mu) / sigma


def test_clipping_bounds_r_and_d():
    # A batch 100x wider than sigma and far off mu: r and d saturate at r_max and d_max, so
    # x_hat = (x - mu_B) / sigma_B * r_max + d_max.
    gen = torch.Generator().manual_seed(5)
    brn = create("batch_renorm", channels=3, r_max=2.0, d_max=1.0, affine=False).double()
    x = 100 * torch.randn(8, 3, 4, 4, generator=gen, dtype=torch.float64) + 500
    bn = torch.nn.BatchNorm2d(3, eps=brn.eps, affine=False).double()
    torch.testing.assert_close(brn(x), bn(x) * 2.0 + 1.0, rtol=1e-12, atol=1e-12)


def test_schedule_attributes_are_validated():
    brn = create("batch_renorm", channels=4)
    brn.r_max, brn.d_max = 1.0, 0.0  # the start of the paper's schedule
    brn.r_max, brn.d_max = 2.5, 3.0
    with pytest.raises(ValueError, match="r_max"):
        brn.r_max = 0.5
    with pytest.raises(ValueError, match="d_max"):
        brn.d_max = -1.0


def test_load_batchnorm_state_gives_the_same_inference():
    gen = torch.Generator().manual_seed(6)
    bn = torch.nn.BatchNorm2d(6)
    for _ in range(3):
        bn(torch.randn(4, 6, 3, 3, generator=gen) * 2 + 1)
    bn.eval()
    brn = create("batch_renorm", channels=6)
    encyclo.module("batch_renorm").load_batchnorm_state(brn, bn.state_dict())  # sigma = sqrt(var + eps)
    brn.eval()
    x = torch.randn(2, 6, 5, 5, generator=gen)
    torch.testing.assert_close(brn(x), bn(x), rtol=1e-5, atol=1e-5)


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(4, 32, 6, 6, generator=gen) * 3 + 5
    expected = create("batch_renorm", channels=32)(x)
    for dtype in (torch.bfloat16, torch.float16):
        brn = create("batch_renorm", channels=32)
        y = brn(x.to(dtype))
        assert y.dtype == dtype and brn.running_std.dtype == torch.float32
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.08)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        create("batch_renorm", channels=0)
    with pytest.raises(ValueError, match="momentum"):
        create("batch_renorm", channels=4, momentum=2.0)
    with pytest.raises(ValueError, match="r_max"):
        create("batch_renorm", channels=4, r_max=0.9)
    brn = create("batch_renorm", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, \*\)"):
        brn(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        brn(torch.randn(1, 4, 1, 1))
    brn.eval()(torch.randn(1, 4, 1, 1))  # fine at inference
