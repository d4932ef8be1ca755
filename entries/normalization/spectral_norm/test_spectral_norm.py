"""What is special about Spectral Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module

sn = module("spectral_norm")


def _sigma_max(w: torch.Tensor) -> float:
    return torch.linalg.svdvals(w.detach().flatten(1))[0].item()


def largest_singular_value_after_100_steps() -> float:
    """Sec. 2.1: sigma(W_SN) = 1. Measured with svdvals on the normalized kernel of a 64-channel 3 x 3
    convolution after 100 training forwards (one power iteration each, Algorithm 1), W held fixed."""
    torch.manual_seed(0)
    conv = create("spectral_norm", channels=64).double()
    x = torch.randn(1, 64, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(100):
            conv(x)
    return _sigma_max(conv.eval().weight)


def _torch_reference(conv) -> torch.nn.Module:
    ref = torch.nn.Conv2d(conv.channels, conv.channels, conv.kernel_size, padding=conv.kernel_size // 2,
                          bias=conv.conv.bias is not None).to(conv.weight_orig.dtype)
    ref = torch.nn.utils.parametrizations.spectral_norm(ref)
    ref.load_state_dict(conv.conv.state_dict())  # same keys: parametrizations.weight.original, ._u, ._v
    return ref


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("channels,k", [(8, 3), (5, 1), (4, 5)])
def test_matches_torch_spectral_norm_in_train_and_eval(dtype, tol, channels, k):
    gen = torch.Generator().manual_seed(1)
    conv = create("spectral_norm", channels=channels, kernel_size=k, order="torch").to(dtype)
    ref = _torch_reference(conv)
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    for _ in range(3):  # training: one power iteration per forward, u and v persist, W moves
        x = torch.randn(2, channels, 6, 7, generator=gen, dtype=dtype)
        out, out_ref = conv(x), ref(x)
        torch.testing.assert_close(out, out_ref, rtol=tol, atol=tol)
        out.square().mean().backward()
        out_ref.square().mean().backward()
        torch.testing.assert_close(conv.weight_orig.grad, ref.parametrizations.weight.original.grad,
                                   rtol=tol, atol=tol)
        opt.step(), opt_ref.step(), opt.zero_grad(), opt_ref.zero_grad()
    p, p_ref = conv.conv.parametrizations.weight[0], ref.parametrizations.weight[0]
    torch.testing.assert_close(p._u, p_ref._u, rtol=tol, atol=tol)
    torch.testing.assert_close(p._v, p_ref._v, rtol=tol, atol=tol)
    conv.eval(), ref.eval()
    u_before = p._u.clone()
    x = torch.randn(2, channels, 5, 5, generator=gen, dtype=dtype)
    torch.testing.assert_close(conv(x), ref(x), rtol=tol, atol=tol)
    assert torch.equal(p._u, u_before)  # eval: u and v frozen


def test_one_power_iteration_per_training_forward():
    # Algorithm 1: each update does v <- W^T u / ||W^T u||, u <- W v / ||W v|| once, from the stored u.
    torch.manual_seed(2)
    conv = create("spectral_norm", channels=6).double()
    p = conv.conv.parametrizations.weight[0]
    w = conv.weight_orig.detach().flatten(1)
    u0 = p._u.clone()
    v1 = torch.nn.functional.normalize(w.T @ u0, dim=0)
    u1 = torch.nn.functional.normalize(w @ v1, dim=0)
    out = conv(torch.randn(1, 6, 4, 4, dtype=torch.float64))
    torch.testing.assert_close(p._v, v1)
    torch.testing.assert_close(p._u, u1)
    expected_weight = conv.weight_orig / (u1 @ w @ v1)  # Sec. 2.1 with sigma ~ u^T W v (Algorithm 1)
    torch.testing.assert_close(conv.eval().weight, expected_weight)
    assert out.shape == (1, 6, 4, 4)


def test_paper_and_torch_orders_converge_to_the_same_sigma():
    # Both orders are the same power iteration (shifted by half a step): with W fixed they converge to
    # the same top singular pair, and the paper's order differs from torch's only in the transient.
    torch.manual_seed(5)
    a = create("spectral_norm", channels=4, kernel_size=1).double()
    b = create("spectral_norm", channels=4, kernel_size=1, order="torch").double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(300):
            a(x), b(x)
    torch.testing.assert_close(a.eval().weight, b.eval().weight, rtol=1e-9, atol=1e-9)
    assert _sigma_max(a.weight) == pytest.approx(1.0, abs=1e-9)


def test_sigma_estimate_increases_towards_the_true_spectral_norm():
    # Power iteration: u^T W v <= sigma(W) and it grows with the iterations, so sigma(W_SN) >= 1 and
    # decreases to 1; the normalized weight reaches sigma = 1 up to the remaining estimation error.
    torch.manual_seed(3)
    conv = create("spectral_norm", channels=16).double()
    x = torch.randn(1, 16, 3, 3, dtype=torch.float64)
    true_sigma = _sigma_max(conv.weight_orig)
    estimates = []
    with torch.no_grad():
        for _ in range(30):
            conv(x)
            p = conv.conv.parametrizations.weight[0]
            estimates.append((p._u @ conv.weight_orig.flatten(1) @ p._v).item())
    assert all(b >= a - 1e-12 for a, b in zip(estimates, estimates[1:]))
    assert estimates[-1] <= true_sigma + 1e-12
    assert _sigma_max(conv.eval().weight) == pytest.approx(1.0, abs=5e-3)


def test_generic_function_on_linear_and_transposed_conv():
    torch.manual_seed(4)
    lin = sn.spectral_norm(torch.nn.Linear(12, 7).double(), n_power_iterations=50)
    with torch.no_grad():
        lin(torch.randn(1, 12, dtype=torch.float64))
    assert torch.linalg.matrix_norm(lin.eval().weight, ord=2).item() == pytest.approx(1.0, abs=1e-6)
    deconv = sn.spectral_norm(torch.nn.ConvTranspose2d(4, 6, 3), order="torch")  # dim 1: output channels of a transpose
    assert deconv.parametrizations.weight[0]._u.shape == (6,)
    ref = torch.nn.utils.parametrizations.spectral_norm(torch.nn.ConvTranspose2d(4, 6, 3))
    ref.load_state_dict(deconv.state_dict())
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(deconv(x), ref(x))


def test_low_precision_and_invalid_arguments():
    conv = create("spectral_norm", channels=8).to(torch.bfloat16)
    y = conv(torch.randn(2, 8, 5, 5, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="channels"):
        create("spectral_norm", channels=0)
    with pytest.raises(ValueError, match="odd"):
        create("spectral_norm", channels=4, kernel_size=4)
    with pytest.raises(ValueError, match="n_power_iterations"):
        create("spectral_norm", channels=4, n_power_iterations=0)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        create("spectral_norm", channels=4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="order"):
        create("spectral_norm", channels=4, order="svd")
    with pytest.raises(ValueError, match="no tensor parameter"):
        sn.spectral_norm(torch.nn.ReLU())


def torch_reference(channels: int, kernel_size: int = 3, n_power_iterations: int = 1, eps: float = 1e-12,
                    bias: bool = True, order: str = "paper") -> torch.nn.Module:
    """torch.nn.utils.parametrizations.spectral_norm on the same convolution (bench times it beside this entry).

    ``order`` has no torch counterpart (torch always runs the "torch" order; the cost is the same).
    """
    conv = torch.nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
    return torch.nn.utils.parametrizations.spectral_norm(conv, n_power_iterations=n_power_iterations, eps=eps)
