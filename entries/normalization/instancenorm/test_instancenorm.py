"""What is special about Instance Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create, module


def _randomize_affine(norm: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        norm.weight.copy_(torch.randn(norm.weight.shape, generator=gen, dtype=norm.weight.dtype))
        norm.bias.copy_(torch.randn(norm.bias.shape, generator=gen, dtype=norm.bias.dtype))


def contrast_invariant() -> bool:
    """Sec. 2: the output should not depend on the contrast of the content image.

    Rescales every channel of each image of a batch by its own positive factor (0.2 to 5) and shifts it,
    then compares the outputs (float32, default eps = 1e-5, which makes the invariance approximate for
    channels whose standard deviation is comparable to sqrt(eps); the maps here have std >= 0.2).
    """
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=gen)  # images in [0, 1]
    gain = 0.2 + 4.8 * torch.rand(4, 3, 1, 1, generator=gen)  # a contrast change per image and channel
    shift = torch.randn(4, 3, 1, 1, generator=gen)
    norm = create("instancenorm", channels=3)
    return bool(torch.allclose(norm(gain * x + shift), norm(x), rtol=0, atol=1e-4))


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(2, 16, 8, 8), (3, 5, 7, 11), (1, 1, 1, 4), (2, 8, 3, 4, 5)])
@pytest.mark.parametrize("affine", [False, True])
def test_matches_torch_instance_norm(dtype, atol, shape, affine):
    gen = torch.Generator().manual_seed(1)
    c = shape[1]
    ours = create("instancenorm", channels=c, affine=affine).to(dtype)
    torch_cls = torch.nn.InstanceNorm3d if len(shape) == 5 else torch.nn.InstanceNorm2d
    ref = torch_cls(c, eps=1e-5, affine=affine).to(dtype)
    if affine:
        _randomize_affine(ours, gen)
        ref.load_state_dict(ours.state_dict())  # same names: weight (gamma), bias (beta)
    x = 3 * torch.randn(shape, generator=gen, dtype=dtype) - 2
    torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 6, 7), (2, 3, 3, 4, 2), (2, 4, 1, 3)])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_equals_reference_function(dtype, tol, shape, channels_last, affine, training):
    # The forward dispatches to torch's fused kernels (group_norm with G = C, or instance_norm for
    # non-contiguous inputs); instance_norm_reference is Sec. 2's equation written out.
    gen = torch.Generator().manual_seed(9)
    norm = create("instancenorm", channels=shape[1], affine=affine).to(dtype).train(training)
    if affine:
        _randomize_affine(norm, gen)
    x = 3 * torch.randn(shape, generator=gen, dtype=dtype) + 2
    if channels_last:
        x = x.transpose(1, -1).contiguous().transpose(1, -1)  # same values, channels-last strides
    x.requires_grad_(True)
    g = torch.randn(shape, generator=gen, dtype=dtype)
    params = [x] + ([norm.weight, norm.bias] if affine else [])
    fused = norm(x)
    reference = module("instancenorm").instance_norm_reference(x, norm.weight, norm.bias, norm.eps)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((y * g).sum(), params) for y in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_gradients_match_torch_instance_norm():
    gen = torch.Generator().manual_seed(2)
    ours = create("instancenorm", channels=6, affine=True).double()
    _randomize_affine(ours, gen)
    ref = torch.nn.InstanceNorm2d(6, affine=True).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 6, 5, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 6, 5, 7, generator=gen, dtype=torch.float64)
    grads = [torch.autograd.grad((m(x) * g).sum(), (x, m.weight, m.bias)) for m in (ours, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_equals_the_groupnorm_entry_with_one_channel_per_group():
    gen = torch.Generator().manual_seed(3)
    c = 12
    x = 2 * torch.randn(3, c, 6, 5, generator=gen, dtype=torch.float64) + 1
    inorm = create("instancenorm", channels=c, affine=True).double()
    _randomize_affine(inorm, gen)
    gn = create("groupnorm", channels=c, num_groups=c).double()
    gn.load_state_dict(inorm.state_dict())
    torch.testing.assert_close(inorm(x), gn(x), rtol=0, atol=1e-12)


def test_each_channel_of_each_sample_is_standardized():
    # Sec. 2: mu_ti and sigma_ti belong to one image t and one channel i.
    gen = torch.Generator().manual_seed(4)
    ramp = torch.arange(1, 9, dtype=torch.float64)[:, None, None]  # channels of different scale and offset
    x = torch.randn(3, 8, 9, 7, generator=gen, dtype=torch.float64) * ramp + ramp
    y = create("instancenorm", channels=8).double()(x)
    torch.testing.assert_close(y.mean((2, 3)), torch.zeros(3, 8, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(y.var((2, 3), unbiased=False), torch.ones(3, 8, dtype=torch.float64),
                               rtol=0, atol=1e-4)


def test_contrast_invariance_is_exact_without_eps():
    assert contrast_invariant()
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(2, 3, 16, 16, generator=gen, dtype=torch.float64)
    gain = 0.01 + 100 * torch.rand(2, 3, 1, 1, generator=gen, dtype=torch.float64)
    norm = create("instancenorm", channels=3, eps=0.0).double()
    torch.testing.assert_close(norm(gain * x - 7), norm(x), rtol=0, atol=1e-10)


def test_is_batch_norm_on_a_batch_of_one_in_train_and_test():
    # Sec. 2: IN is BN's formula with the statistics of one instance, and it is applied at test time too,
    # so the output of each sample equals training-mode BN on that sample alone, and never mixes samples.
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(4, 5, 6, 6, generator=gen) * 3 + 1
    norm = create("instancenorm", channels=5)
    bn = torch.nn.BatchNorm2d(5, affine=False, track_running_stats=False)
    alone = torch.cat([bn(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(norm(x), alone, rtol=1e-5, atol=1e-5)
    assert torch.equal(norm.train()(x), norm.eval()(x))
    assert len(list(norm.buffers())) == 0
    other = x.clone()
    other[1:] = 40 * torch.randn(3, 5, 6, 6, generator=gen) - 3
    torch.testing.assert_close(norm(other)[0], norm(x)[0], rtol=0, atol=1e-6)


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 16, 8, 8, generator=gen) * 3 + 5
    norm = create("instancenorm", channels=16)
    expected = norm(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = norm(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        create("instancenorm", channels=0)
    with pytest.raises(ValueError, match="eps"):
        create("instancenorm", channels=4, eps=-1.0)
    norm = create("instancenorm", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        norm(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="spatial"):
        norm(torch.randn(2, 4))
    with pytest.raises(ValueError, match="floating-point"):
        norm(torch.ones(2, 4, 3, 3, dtype=torch.long))


def torch_reference(channels: int, eps: float = 1e-5, affine: bool = False) -> torch.nn.Module:
    """torch.nn.InstanceNorm2d from the same arguments (bench times it beside this entry)."""
    return torch.nn.InstanceNorm2d(channels, eps=eps, affine=affine)
