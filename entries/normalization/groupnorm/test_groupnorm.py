"""What is special about Group Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module


def _randomize_affine(gn: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        gn.weight.copy_(torch.randn(gn.weight.shape, generator=gen, dtype=gn.weight.dtype))
        gn.bias.copy_(torch.randn(gn.bias.shape, generator=gen, dtype=gn.bias.dtype))


def default_num_groups() -> int:
    """Sec. 3.1 / 4.1: the number of groups the implementation uses when none is given."""
    return create("groupnorm", channels=256).num_groups


def extreme_cases_equal_ln_and_in() -> list[bool]:
    """Sec. 3.1, Relation to Prior Work, measured against torch's independent LN and IN kernels (float64).

    G = 1 is Layer Norm over (C, H, W) of each sample (Eq. 4's set); G = C is Instance Norm over (H, W)
    of each sample and channel (Eq. 5's set). Both with the paper's per-channel gamma and beta (Eq. 6).
    """
    gen = torch.Generator().manual_seed(0)
    c = 64
    x = 2 * torch.randn(3, c, 7, 5, generator=gen, dtype=torch.float64) + 1
    results = []
    for groups in (1, c):
        gn = create("groupnorm", channels=c, num_groups=groups).double()
        _randomize_affine(gn, gen)
        if groups == 1:  # LN's statistics over (C, H, W); the per-channel affine broadcast over (H, W)
            ref = F.layer_norm(x, x.shape[1:], eps=gn.eps)
        else:
            ref = F.instance_norm(x, eps=gn.eps)
        ref = ref * gn.weight[:, None, None] + gn.bias[:, None, None]
        results.append(bool(torch.allclose(gn(x), ref, rtol=0, atol=1e-12)))
    return results


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape,groups", [
    ((2, 64, 8, 8), 32),  # the default G
    ((3, 12, 5, 9), 2),  # non-square H x W
    ((2, 16, 7, 3), 1),  # G = 1
    ((2, 16, 4, 6), 16),  # G = C
    ((1, 6, 1, 1), 3),  # one pixel, batch of one
    ((2, 8, 3, 4, 5), 4),  # a 3-D feature map (N, C, T, H, W)
    ((4, 8), 2),  # no spatial axes
])
@pytest.mark.parametrize("affine", [True, False])
def test_matches_torch_group_norm(dtype, atol, shape, groups, affine):
    gen = torch.Generator().manual_seed(1)
    c = shape[1]
    ours = create("groupnorm", channels=c, num_groups=groups, affine=affine).to(dtype)
    ref = torch.nn.GroupNorm(groups, c, eps=1e-5, affine=affine).to(dtype)
    if affine:
        _randomize_affine(ours, gen)
        ref.load_state_dict(ours.state_dict())  # same parameter names: weights copy across directly
    x = 3 * torch.randn(shape, generator=gen, dtype=dtype) - 2
    torch.testing.assert_close(ours(x), ref(x), rtol=atol, atol=atol)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape,groups", [((3, 8, 5, 6), 4), ((2, 6, 7), 6), ((4, 8), 2), ((2, 4, 3, 3, 2), 1)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_equals_reference_function(dtype, tol, shape, groups, affine, training):
    # The forward dispatches to torch's fused kernel; group_norm_reference is Fig. 3 written out.
    gen = torch.Generator().manual_seed(9)
    gn = create("groupnorm", channels=shape[1], num_groups=groups, affine=affine).to(dtype).train(training)
    if affine:
        _randomize_affine(gn, gen)
    x = (3 * torch.randn(shape, generator=gen, dtype=dtype) + 2).requires_grad_(True)
    g = torch.randn(shape, generator=gen, dtype=dtype)
    params = [x] + ([gn.weight, gn.bias] if affine else [])
    fused = gn(x)
    reference = module("groupnorm").group_norm_reference(x, groups, gn.weight, gn.bias, gn.eps)
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    grads = [torch.autograd.grad((y * g).sum(), params) for y in (fused, reference)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_gradients_match_torch_group_norm():
    gen = torch.Generator().manual_seed(2)
    ours = create("groupnorm", channels=32, num_groups=8).double()
    _randomize_affine(ours, gen)
    ref = torch.nn.GroupNorm(8, 32).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 32, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 32, 5, 6, generator=gen, dtype=torch.float64)
    grads = [torch.autograd.grad((m(x) * g).sum(), (x, m.weight, m.bias)) for m in (ours, ref)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_extreme_cases_are_layer_norm_and_instance_norm():
    assert extreme_cases_equal_ln_and_in() == [True, True]


def test_one_group_equals_the_layernorm_entry_over_chw():
    # GN with G = 1 is LN applied to each sample's flattened (C, H, W) vector, with LN's gain and bias
    # holding the per-channel gamma and beta repeated over H x W.
    gen = torch.Generator().manual_seed(3)
    n, c, h, w = 2, 8, 5, 3
    gn = create("groupnorm", channels=c, num_groups=1).double()
    _randomize_affine(gn, gen)
    ln = create("layernorm", dim=c * h * w).double()
    with torch.no_grad():
        ln.weight.copy_(gn.weight.repeat_interleave(h * w))
        ln.bias.copy_(gn.bias.repeat_interleave(h * w))
    x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(gn(x), ln(x.reshape(n, 1, c * h * w)).reshape(n, c, h, w), rtol=0, atol=1e-12)


def test_groups_are_normalized_separately():
    # Eq. 7: each group of C/G consecutive channels of each sample has zero mean and unit variance.
    gen = torch.Generator().manual_seed(4)
    n, c, g = 3, 24, 6
    ramp = torch.arange(1, c + 1, dtype=torch.float64)[:, None, None]  # channels of different scale and offset
    x = torch.randn(n, c, 5, 7, generator=gen, dtype=torch.float64) * ramp + ramp
    y = create("groupnorm", channels=c, num_groups=g).double()(x).detach().reshape(n, g, -1)
    torch.testing.assert_close(y.mean(-1), torch.zeros(n, g, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(n, g, dtype=torch.float64), rtol=0, atol=1e-5)
    # ... but single channels do not (unlike Instance Norm), because the group shares one mean and std.
    per_channel = y.reshape(n, c, -1).mean(-1)
    assert float(per_channel.abs().max()) > 0.1


def test_independent_of_batch():
    # Sec. 3.1: "LN, IN, and GN all perform independent computations along the batch axis".
    gen = torch.Generator().manual_seed(5)
    gn = create("groupnorm", channels=64)
    x = torch.randn(5, 64, 6, 6, generator=gen)
    together = gn(x)
    alone = torch.cat([gn(x[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)
    other = x.clone()
    other[1:] = 50 * torch.randn(4, 64, 6, 6, generator=gen) + 10  # change every other sample
    torch.testing.assert_close(gn(other)[0], together[0], rtol=0, atol=1e-6)


def test_train_and_eval_compute_the_same():
    gen = torch.Generator().manual_seed(6)
    gn = create("groupnorm", channels=32, num_groups=4)
    x = torch.randn(2, 32, 5, 5, generator=gen)
    assert torch.equal(gn.train()(x), gn.eval()(x))
    assert len(list(gn.buffers())) == 0  # no running statistics, unlike BN


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 64, 8, 8, generator=gen) * 3 + 5
    gn = create("groupnorm", channels=64)
    expected = gn(x)
    for dtype in (torch.bfloat16, torch.float16):
        y = gn(x.to(dtype))
        assert y.dtype == dtype
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_indivisible_channels_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"channels \(48\) must be divisible by num_groups \(32\)"):
        create("groupnorm", channels=48)
    with pytest.raises(ValueError, match="num_groups"):
        create("groupnorm", channels=32, num_groups=0)
    with pytest.raises(ValueError, match="eps"):
        create("groupnorm", channels=32, eps=-1e-5)
    gn = create("groupnorm", channels=32)
    with pytest.raises(ValueError, match=r"\(N, 32, \*\)"):
        gn(torch.randn(2, 16, 4, 4))
    with pytest.raises(ValueError, match="floating-point"):
        gn(torch.ones(2, 32, 4, 4, dtype=torch.long))


def torch_reference(channels: int, num_groups: int = 32, eps: float = 1e-5, affine: bool = True) -> torch.nn.Module:
    """torch.nn.GroupNorm from the same arguments (bench times it beside this entry)."""
    return torch.nn.GroupNorm(num_groups, channels, eps=eps, affine=affine)
