"""What is special about Batch Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module


def _randomize_affine(bn: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        bn.weight.copy_(torch.randn(bn.weight.shape, generator=gen, dtype=bn.weight.dtype))
        bn.bias.copy_(torch.randn(bn.bias.shape, generator=gen, dtype=bn.bias.dtype))


def unbiased_population_variance_factor() -> float:
    """Sec. 3.1 / Alg. 2, line 10: Var[x] = m/(m-1) E_B[sigma_B^2], measured on the code's running_var.

    With ``momentum=None`` the running statistics are the plain average over the training mini-batches
    (Alg. 2's E_B[.]). Feed K batches of 2 images of 4 x 4 pixels, so each channel's effective
    mini-batch is m' = N * H * W = 32 values (Sec. 3.2), and divide the layer's running_var by the
    average of the biased (1/m) batch variances computed here: the ratio is the factor of Alg. 2.
    """
    gen = torch.Generator().manual_seed(0)
    bn = create("batchnorm", channels=8, momentum=None).double().train()
    batch_vars = []
    for k in range(5):
        x = (k + 1) * torch.randn(2, 8, 4, 4, generator=gen, dtype=torch.float64) + k
        bn(x)
        batch_vars.append(x.var(dim=(0, 2, 3), unbiased=False))  # sigma_B^2 of Alg. 1, per channel
    ratio = bn.running_var / torch.stack(batch_vars).mean(0)  # Var[x] / E_B[sigma_B^2], per channel
    return float(ratio.mean())


def normalized_moments_are_zero_and_one() -> list[bool]:
    """Sec. 3 (after Alg. 1): in training, sum_i x_hat_i = 0 and (1/m) sum_i x_hat_i^2 = 1 (neglecting eps).

    Measured per channel over (N, H, W) on the layer's output with gamma = 1, beta = 0 (so y = x_hat).
    """
    gen = torch.Generator().manual_seed(1)
    ramp = torch.arange(1, 17, dtype=torch.float64).reshape(1, 16, 1, 1)  # channels of different scale
    x = torch.randn(4, 16, 6, 5, generator=gen, dtype=torch.float64) * ramp + 3 * ramp
    y = create("batchnorm", channels=16, eps=0.0).double().train()(x).detach()
    mean = y.mean(dim=(0, 2, 3))
    second_moment = y.square().mean(dim=(0, 2, 3))
    return [bool(mean.abs().max() < 1e-12), bool((second_moment - 1).abs().max() < 1e-12)]


def test_claims_measure_the_paper_figures():
    assert unbiased_population_variance_factor() == pytest.approx(32 / 31, rel=1e-12)
    assert normalized_moments_are_zero_and_one() == [True, True]


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(4, 8, 6, 6), (3, 5, 7, 2), (2, 3, 1, 1), (1, 4, 3, 5), (16, 6)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_matches_torch_batch_norm_in_train_and_eval(dtype, atol, shape, momentum):
    # Train-mode outputs AND the running statistics after several steps, then eval-mode outputs.
    gen = torch.Generator().manual_seed(2)
    c = shape[1]
    ours = create("batchnorm", channels=c, momentum=momentum).to(dtype)
    _randomize_affine(ours, gen)
    ref_cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    ref = ref_cls(c, momentum=momentum).to(dtype)
    ref.load_state_dict(ours.state_dict())  # same names: weight, bias, running_mean, running_var, ...
    for step in range(4):
        x = (step + 1) * torch.randn(shape, generator=gen, dtype=dtype) + step - 1
        torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=atol, atol=atol, msg=key)
    ours.eval()
    ref.eval()
    x = 2 * torch.randn(shape, generator=gen, dtype=dtype) + 1
    torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)


@pytest.mark.parametrize("affine,track", [(False, True), (True, False), (False, False)])
def test_matches_torch_without_affine_or_running_stats(affine, track):
    gen = torch.Generator().manual_seed(3)
    ours = create("batchnorm", channels=6, affine=affine, track_running_stats=track).double()
    ref = torch.nn.BatchNorm2d(6, affine=affine, track_running_stats=track).double()
    if affine:
        _randomize_affine(ours, gen)
        ref.load_state_dict(ours.state_dict())
    assert set(ours.state_dict()) == set(ref.state_dict())
    for mode in ("train", "eval", "train"):
        getattr(ours, mode)()
        getattr(ref, mode)()
        x = torch.randn(3, 6, 4, 5, generator=gen, dtype=torch.float64) * 2 + 1
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-12, atol=1e-12)


def test_state_dict_loads_from_and_into_torch():
    gen = torch.Generator().manual_seed(4)
    ref = torch.nn.BatchNorm2d(8)
    ref.train()
    for _ in range(3):
        ref(torch.randn(4, 8, 3, 3, generator=gen) * 3 + 2)
    ours = create("batchnorm", channels=8)
    ours.load_state_dict(ref.state_dict())  # strict: identical keys
    ours.eval()
    ref.eval()
    x = torch.randn(2, 8, 5, 5, generator=gen)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-6, atol=1e-6)
    torch.nn.BatchNorm2d(8).load_state_dict(ours.state_dict())


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (8, 6), (2, 6, 3, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_equals_reference_function(dtype, tol, shape, momentum, affine, track, training):
    # The forward dispatches to torch.nn.functional.batch_norm on the module's buffers;
    # batch_norm_reference is Alg. 1 / Alg. 2 written out. Outputs, gradients and running stats agree.
    gen = torch.Generator().manual_seed(10)
    c = shape[1]
    bn = create("batchnorm", channels=c, momentum=momentum, affine=affine, track_running_stats=track).to(dtype)
    if affine:
        _randomize_affine(bn, gen)
    if track:
        with torch.no_grad():
            bn.running_mean.copy_(torch.randn(c, generator=gen, dtype=dtype))
            bn.running_var.copy_(torch.rand(c, generator=gen, dtype=dtype) + 0.5)
            bn.num_batches_tracked.fill_(3)
    bn.train(training)
    running = [t.clone() for t in (bn.running_mean, bn.running_var)] if track else [None, None]
    factor = (1.0 / 4 if momentum is None else momentum) if training and track else 0.0
    x = (3 * torch.randn(shape, generator=gen, dtype=dtype) + 2).requires_grad_(True)
    g = torch.randn(shape, generator=gen, dtype=dtype)
    params = [x] + ([bn.weight, bn.bias] if affine else [])
    fused = bn(x)
    reference = module("batchnorm").batch_norm_reference(x, *running, bn.weight, bn.bias, training or not track,
                                                         factor, bn.eps)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((y * g).sum(), params) for y in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    if track:
        torch.testing.assert_close(bn.running_mean, running[0], rtol=tol, atol=tol)
        torch.testing.assert_close(bn.running_var, running[1], rtol=tol, atol=tol)


def test_paths_beyond_the_kernel_use_the_reference_function():
    # eps = 0 (Alg. 1 exactly) and a float64 input in a float32 layer are not taken by torch's kernel.
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(4, 3, 5, 5, generator=gen, dtype=torch.float64)
    bn = create("batchnorm", channels=3)
    y = bn(x)
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, torch.nn.functional.batch_norm(x, None, None, training=True), rtol=1e-6, atol=1e-6)
    y0 = create("batchnorm", channels=3, eps=0.0).double()(x)
    torch.testing.assert_close(y0.var(dim=(0, 2, 3), unbiased=False), torch.ones(3, dtype=torch.float64))


def test_gradients_match_torch_batch_norm():
    gen = torch.Generator().manual_seed(5)
    ours = create("batchnorm", channels=8).double()
    _randomize_affine(ours, gen)
    ref = torch.nn.BatchNorm2d(8).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 8, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 8, 4, 5, generator=gen, dtype=torch.float64)
    grads = [torch.autograd.grad((m(x) * g).sum(), (x, m.weight, m.bias)) for m in (ours, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_torch_running_var_also_stores_the_unbiased_estimate():
    # After one step with momentum = 1, running_var is m/(m-1) * sigma_B^2 in torch's kernel and here.
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 3, 3, generator=gen, dtype=torch.float64)  # m' = 18 values per channel
    expected = x.var(dim=(0, 2, 3), unbiased=False) * 18 / 17
    for bn in (create("batchnorm", channels=4, momentum=1.0).double(), torch.nn.BatchNorm2d(4, momentum=1.0).double()):
        bn(x)
        torch.testing.assert_close(bn.running_var, expected, rtol=1e-12, atol=0)
        torch.testing.assert_close(bn.running_mean, x.mean(dim=(0, 2, 3)), rtol=1e-12, atol=1e-15)


def test_inference_is_one_affine_map_per_channel():
    # Alg. 2, line 11: y = gamma / sqrt(Var[x] + eps) * x + (beta - gamma E[x] / sqrt(Var[x] + eps)).
    gen = torch.Generator().manual_seed(7)
    bn = create("batchnorm", channels=5).double()
    _randomize_affine(bn, gen)
    for _ in range(3):
        bn(torch.randn(4, 5, 6, 6, generator=gen, dtype=torch.float64) * 2 + 1)
    bn.eval()
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - scale * bn.running_mean
    x = torch.randn(3, 5, 7, 2, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(bn(x), x * scale[:, None, None] + shift[:, None, None], rtol=1e-12, atol=1e-12)
    # ... so in eval a sample's output no longer depends on the rest of the batch (Sec. 3.1).
    torch.testing.assert_close(bn(x[:1]), bn(x)[:1], rtol=0, atol=1e-14)


def test_training_output_depends_on_the_batch():
    # Sec. 3: "BN(x) depends both on the training example and the other examples in the mini-batch".
    gen = torch.Generator().manual_seed(8)
    bn = create("batchnorm", channels=4).train()
    x = torch.randn(4, 4, 3, 3, generator=gen)
    other = x.clone()
    other[1:] = 10 * torch.randn(3, 4, 3, 3, generator=gen) + 5
    assert (bn(x)[0] - bn(other)[0]).abs().max() > 0.1
    assert int(bn.num_batches_tracked) == 2


def test_running_stats_converge_to_population_statistics():
    # Alg. 2, line 10 with momentum=None: E_B[mu_B] and m/(m-1) E_B[sigma_B^2] estimate the population
    # mean and variance without bias; with many batches they approach the true values.
    gen = torch.Generator().manual_seed(9)
    mean = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    std = torch.tensor([0.5, 1.0, 4.0], dtype=torch.float64)
    bn = create("batchnorm", channels=3, momentum=None).double()
    for _ in range(400):
        bn(torch.randn(4, 3, generator=gen, dtype=torch.float64) * std + mean)  # tiny batches: m = 4
    torch.testing.assert_close(bn.running_mean, mean, rtol=0, atol=0.15)
    torch.testing.assert_close(bn.running_var, std**2, rtol=0.1, atol=0)


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(4, 32, 6, 6, generator=gen) * 3 + 5
    expected = create("batchnorm", channels=32)(x)
    for dtype in (torch.bfloat16, torch.float16):
        bn = create("batchnorm", channels=32)
        y = bn(x.to(dtype))
        assert y.dtype == dtype and bn.running_var.dtype == torch.float32
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        create("batchnorm", channels=0)
    with pytest.raises(ValueError, match="eps"):
        create("batchnorm", channels=4, eps=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        create("batchnorm", channels=4, momentum=1.5)
    bn = create("batchnorm", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, \*\)"):
        bn(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="floating-point"):
        bn(torch.ones(2, 4, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(torch.randn(1, 4, 1, 1))
    bn.eval()(torch.randn(1, 4, 1, 1))  # one value is fine at inference (population statistics)


def torch_reference(channels: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                    track_running_stats: bool = True) -> torch.nn.Module:
    """torch.nn.BatchNorm2d from the same arguments (bench times it beside this entry)."""
    return torch.nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=affine,
                                track_running_stats=track_running_stats)
