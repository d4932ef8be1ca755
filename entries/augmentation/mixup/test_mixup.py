"""What is special about mixup (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

mixup = get("mixup")
M = inspect.getmodule(mixup)  # the implementation module: sample_mixup_params, apply_mixup, MixupParams


def batch(n=6, c=3, h=8, w=8, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g), torch.randint(0, k, (n,), generator=g)


# ---- claim measures ---------------------------------------------------------------------------------
def default_alpha() -> float:
    """The alpha mixup uses when none is given, read from the function signature."""
    return inspect.signature(mixup).parameters["alpha"].default


def label_weight_equals_pixel_weight() -> bool:
    """Sec. 2: one lambda weights pixels and labels. Recover it from the pixels by least squares."""
    ok = []
    for seed in range(20):
        x, _ = batch(n=8, seed=seed)
        y = torch.arange(8)  # distinct labels: the weight on the own label is lambda unless paired with itself
        params = M.sample_mixup_params(8, 1.0, torch.Generator().manual_seed(seed))
        mixed, soft = M.apply_mixup(x, y, params, num_classes=8)
        keep = params.perm != y  # images paired with themselves carry no information on lambda
        partner = x[params.perm].flatten(1)[keep]
        moved = x.flatten(1)[keep] - partner  # mixed - partner = lambda (x - partner)
        lam_pixels = ((mixed.flatten(1)[keep] - partner) * moved).sum(1) / moved.pow(2).sum(1)
        lam_labels = soft[torch.arange(8), y][keep]
        ok.append(bool(keep.any()) and torch.allclose(lam_pixels, lam_labels, atol=1e-5))
    return all(ok)


def lambda_mean_at_default_alpha() -> float:
    """E[lambda] of 20,000 draws of the entry's Beta(alpha, alpha) sampler at the default alpha."""
    g = torch.Generator().manual_seed(0)
    return float(M.sample_beta(default_alpha(), g, (20_000,)).mean())


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_alpha():
    assert mixup is M.mixup and mixup.__name__ == "mixup"
    assert create("mixup", alpha=0.2).keywords["alpha"] == 0.2


def test_lambda_one_returns_the_input_exactly():
    x, y = batch()
    params = M.MixupParams(lam=torch.tensor(1.0), perm=torch.randperm(6))
    mixed, soft = M.apply_mixup(x, y, params, num_classes=5)
    assert torch.equal(mixed, x)
    assert torch.equal(soft, torch.nn.functional.one_hot(y, 5).float())


def test_lambda_zero_returns_the_partner():
    x, y = batch()
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    mixed, soft = M.apply_mixup(x, y, M.MixupParams(lam=torch.tensor(0.0), perm=perm), num_classes=5)
    assert torch.equal(mixed, x[perm])
    assert torch.equal(soft.argmax(1), y[perm])


def test_mixed_batch_equals_the_formula_for_the_sampled_params():
    x, y = batch(k=7)
    params = M.sample_mixup_params(6, 0.4, torch.Generator().manual_seed(3))
    mixed, soft = M.apply_mixup(x, y, params, num_classes=7)
    lam = float(params.lam)
    onehot = torch.nn.functional.one_hot(y, 7).float()
    assert 0.0 < lam < 1.0
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[params.perm], atol=1e-6)  # Sec. 2
    assert torch.allclose(soft, lam * onehot + (1 - lam) * onehot[params.perm], atol=1e-6)


def test_soft_targets_are_distributions_over_the_two_labels():
    x, y = batch(n=16, k=10)
    _, soft = mixup(x, y, num_classes=10, generator=torch.Generator().manual_seed(1))
    assert soft.dtype == torch.float32 and soft.shape == (16, 10)
    assert torch.allclose(soft.sum(1), torch.ones(16), atol=1e-6)
    assert bool((soft >= 0).all()) and int((soft > 0).sum(1).max()) <= 2


def test_one_lambda_per_batch_and_a_permutation():
    params = M.sample_mixup_params(32, 1.0, torch.Generator().manual_seed(0))
    assert params.lam.shape == () and params.lam.dtype == torch.float32
    assert torch.equal(params.perm.sort().values, torch.arange(32))


def test_beta_sampler_matches_beta_moments_and_numpy():
    # Var[Beta(a, a)] = 1 / (4 (2a + 1)); the ECDF matches numpy's Beta within the 0.1 % KS bound.
    for alpha in (0.2, 1.0, 4.0):
        draws = M.sample_beta(alpha, torch.Generator().manual_seed(0), (20_000,)).numpy()
        assert abs(draws.mean() - 0.5) < 0.01
        assert abs(draws.var() - 1 / (4 * (2 * alpha + 1))) < 0.01
        ref = np.sort(np.random.default_rng(0).beta(alpha, alpha, 20_000).astype(np.float32))
        grid = np.sort(np.concatenate([ref, draws]))
        ks = np.abs(np.searchsorted(ref, grid, "right") - np.searchsorted(np.sort(draws), grid, "right")).max()
        assert ks / 20_000 < 0.0195


def test_small_alpha_approaches_erm():
    # Sec. 2: alpha -> 0 recovers ERM (lambda concentrates on 0 and 1).
    lam = M.sample_beta(0.01, torch.Generator().manual_seed(0), (5_000,))
    assert float((torch.minimum(lam, 1 - lam) < 1e-3).float().mean()) > 0.85


def test_same_seed_same_output_and_different_seed_differs():
    x, y = batch()
    a = mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(7))
    b = mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(7))
    c = mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_inputs_are_not_modified():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x0) and torch.equal(y, y0)


def test_p_zero_is_the_identity():
    x, y = batch()
    mixed, soft = mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(mixed, x) and torch.equal(soft.argmax(1), y)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_labels_carry_the_weight_the_pixels_got(dtype):
    x, y = batch()
    params = M.sample_mixup_params(6, 1.0, torch.Generator().manual_seed(2))
    mixed, soft = M.apply_mixup(x.to(dtype), y, params, num_classes=5)
    lam = params.lam.to(dtype).float()  # the rounded weight the pixels received
    assert mixed.dtype == dtype
    expected = torch.lerp(x.to(dtype)[params.perm].float(), x.to(dtype).float(), lam)
    assert torch.allclose(mixed.float(), expected, atol=1e-2)
    assert torch.allclose(soft[torch.arange(6), y][y[params.perm] != y], lam.expand(6)[y[params.perm] != y])


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)),  # wrong ndim
    dict(images=torch.randint(0, 255, (2, 3, 8, 8))),  # integer images
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),  # empty batch
    dict(targets=torch.tensor([0.0, 1.0])),  # non-integer targets
    dict(targets=torch.tensor([0, 5])),  # out of range
    dict(targets=torch.tensor([-1, 0])),  # out of range
    dict(targets=torch.tensor([0, 1, 2])),  # wrong length
    dict(alpha=0.0), dict(alpha=-1.0), dict(p=1.5), dict(p=-0.1),
    dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        mixup(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_formula_and_rejects_a_cpu_generator():
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    params = M.sample_mixup_params(6, 1.0, torch.Generator(device="cuda").manual_seed(0))
    assert params.lam.device.type == "cuda" and params.perm.device.type == "cuda"
    mixed, soft = M.apply_mixup(x, y, params, num_classes=5)
    lam = float(params.lam)
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[params.perm], atol=1e-6)
    assert torch.allclose(soft.sum(1), torch.ones(6, device="cuda"))
    with pytest.raises(ValueError):
        mixup(x, y, num_classes=5, generator=torch.Generator().manual_seed(0))
