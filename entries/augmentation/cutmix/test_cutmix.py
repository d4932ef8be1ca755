"""What is special about CutMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

cutmix = get("cutmix")
M = inspect.getmodule(cutmix)  # the implementation module: sample_cutmix_params, apply_cutmix, cut_size, ...


def batch(n=6, c=3, h=16, w=20, seed=0):
    """Images whose every pixel is distinct across the batch, labels 0..n-1 (one class per image)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


def pasted_fraction(images, mixed, perm):
    """Fraction of pixels of each image that came from its partner (images paired with themselves: None)."""
    from_partner = (mixed == images[perm]).all(1) & (mixed != images).any(1)  # (N, H, W)
    return from_partner.flatten(1).float().mean(1)


# ---- claim measures ---------------------------------------------------------------------------------
def default_alpha() -> float:
    """The alpha CutMix uses when none is given, read from the function signature."""
    return inspect.signature(cutmix).parameters["alpha"].default


def fixed_size_box_side_at_lambda_0_75() -> int:
    """Eq. 2 on a 32 x 32 CIFAR image at lambda = 0.75: the box side the code cuts."""
    cut_h, cut_w = M.cut_size(0.75, 32, 32)
    assert int(cut_h) == int(cut_w)
    return int(cut_h)


def label_ratio_equals_pasted_area() -> bool:
    """Algorithm A1, line 15: 1 - lambda equals the pasted pixel fraction exactly, clipped boxes included."""
    x, y = batch(n=4, h=16, w=20)
    clipped = 0
    for seed in range(200):
        params = M.sample_cutmix_params(4, 16, 20, 1.0, torch.Generator().manual_seed(seed))
        mixed, soft = M.apply_cutmix(x, y, params, num_classes=4)
        cut_h, cut_w = M.cut_size(params.lam_sampled, 16, 20)
        y1, y2, x1, x2 = params.box.tolist()
        clipped += (y2 - y1, x2 - x1) != (int(cut_h), int(cut_w))
        moved = params.perm != y
        fraction = pasted_fraction(x, mixed, params.perm)[moved]
        own = soft[torch.arange(4), y][moved]  # the label weight of the original image: lambda
        if not torch.equal(torch.round((1 - own) * 320), torch.round(fraction * 320)):
            return False
        if not torch.allclose(own, 1 - fraction, atol=1e-6):
            return False
    return clipped > 50  # the check covered many boxes clipped at the border


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_alpha():
    assert cutmix is M.cutmix and cutmix.__name__ == "cutmix"
    assert create("cutmix", alpha=0.5).keywords["alpha"] == 0.5


def test_box_follows_eq2_and_keeps_the_aspect_ratio():
    # Eq. 2: r_w = W sqrt(1 - lambda), r_h = H sqrt(1 - lambda), cropped area ratio 1 - lambda.
    for lam in (0.0, 0.19, 0.5, 0.75, 0.96, 1.0):
        cut_h, cut_w = M.cut_size(lam, 224, 160)
        assert int(cut_h) == int(224 * (1 - lam) ** 0.5) and int(cut_w) == int(160 * (1 - lam) ** 0.5)
    cut_h, cut_w = M.cut_size(0.75, 224, 224)
    assert int(cut_h * cut_w) / 224**2 == 0.25


def test_pixels_outside_the_box_are_untouched_and_inside_come_from_the_partner():
    x, y = batch()
    params = M.sample_cutmix_params(6, 16, 20, 1.0, torch.Generator().manual_seed(4))
    mixed, _ = M.apply_cutmix(x, y, params, num_classes=6)
    y1, y2, x1, x2 = params.box.tolist()
    inside = torch.zeros(16, 20, dtype=torch.bool)
    inside[y1:y2, x1:x2] = True
    assert inside.any()
    assert torch.equal(mixed[:, :, ~inside], x[:, :, ~inside])  # Eq. 1: M = 1 outside the box
    assert torch.equal(mixed[:, :, inside], x[params.perm][:, :, inside])  # M = 0 inside: x_B


def test_one_box_and_one_lambda_per_batch():
    params = M.sample_cutmix_params(8, 32, 32, 1.0, torch.Generator().manual_seed(0))
    assert params.lam.shape == () and params.box.shape == (4,)
    assert torch.equal(params.perm.sort().values, torch.arange(8))


def test_clipping_raises_lambda_above_the_sampled_value():
    seen_clipped = False
    for seed in range(100):
        params = M.sample_cutmix_params(2, 32, 32, 1.0, torch.Generator().manual_seed(seed))
        cut_h, cut_w = M.cut_size(params.lam_sampled, 32, 32)
        kept = 1 - (cut_h * cut_w).item() / 1024  # lambda for the unclipped box
        assert float(params.lam) >= kept - 1e-6
        seen_clipped |= float(params.lam) > kept + 1e-6
    assert seen_clipped


def test_sampled_lambda_is_uniform_at_alpha_1():
    # Sec. 3.1: alpha = 1, "that is lambda is sampled from the uniform distribution (0, 1)".
    lam = M.sample_beta(1.0, torch.Generator().manual_seed(0), (20_000,))
    assert abs(float(lam.mean()) - 0.5) < 0.01 and abs(float(lam.var()) - 1 / 12) < 0.005
    hist = torch.histc(lam, bins=10, min=0, max=1) / 20_000
    assert float((hist - 0.1).abs().max()) < 0.01


def test_kept_area_lambda_matches_the_authors_rand_bbox():
    # The authors' rand_bbox + "adjust lambda to exactly match pixel ratio", re-run with numpy.
    rng = np.random.default_rng(0)
    lam = rng.beta(1.0, 1.0, 2000)
    cut = (224 * np.sqrt(1 - lam)).astype(int)
    cx, cy = rng.integers(224, size=2000), rng.integers(224, size=2000)
    w = np.clip(cx + cut // 2, 0, 224) - np.clip(cx - cut // 2, 0, 224)
    h = np.clip(cy + cut // 2, 0, 224) - np.clip(cy - cut // 2, 0, 224)
    theirs = 1 - w * h / 224**2
    ours = [float(M.sample_cutmix_params(1, 224, 224, 1.0, torch.Generator().manual_seed(s)).lam) for s in range(2000)]
    assert abs(np.mean(ours) - theirs.mean()) < 0.02 and abs(np.mean(ours) - 0.68) < 0.02


def test_box_centre_is_uniform_over_the_image():
    centres = []
    for seed in range(400):
        params = M.sample_cutmix_params(1, 8, 8, 1.0, torch.Generator().manual_seed(seed))
        y1, y2, _, _ = params.box.tolist()
        centres.append((y1 + y2) / 2)
    assert min(centres) < 1.5 and max(centres) > 6.5  # boxes reach both borders


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = cutmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = cutmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


def test_p_zero_and_empty_box_are_the_identity():
    x, y = batch()
    mixed, soft = cutmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(mixed, x) and torch.equal(soft, torch.eye(6))
    params = M.CutmixParams(lam=torch.tensor(1.0), lam_sampled=torch.tensor(1.0), perm=torch.arange(6).flip(0),
                            box=torch.tensor([3, 3, 0, 20]), size=(16, 20))
    mixed, soft = M.apply_cutmix(x, y, params, num_classes=6)
    assert torch.equal(mixed, x) and torch.equal(soft, torch.eye(6))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_copies_pixels_exactly(dtype):
    x, y = batch()
    params = M.sample_cutmix_params(6, 16, 20, 1.0, torch.Generator().manual_seed(1))
    ref, soft_ref = M.apply_cutmix(x, y, params, num_classes=6)
    mixed, soft = M.apply_cutmix(x.to(dtype), y, params, num_classes=6)
    assert mixed.dtype == dtype and torch.equal(mixed, ref.to(dtype)) and torch.equal(soft, soft_ref)


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)),  # wrong ndim
    dict(images=torch.randint(0, 255, (2, 3, 8, 8))),  # integer images
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),  # empty batch
    dict(targets=torch.tensor([0.0, 1.0])),  # non-integer targets
    dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),  # out of range
    dict(alpha=0.0), dict(alpha=float("nan")), dict(p=1.5), dict(p=-0.1),
    dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        cutmix(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


def test_params_for_another_size_are_rejected():
    x, y = batch()
    params = M.sample_cutmix_params(6, 32, 32, 1.0, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        M.apply_cutmix(x, y, params, num_classes=6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_label_ratio_equals_pasted_area():
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    for seed in range(20):
        params = M.sample_cutmix_params(6, 16, 20, 1.0, torch.Generator(device="cuda").manual_seed(seed))
        assert params.box.device.type == "cuda"
        mixed, soft = M.apply_cutmix(x, y, params, num_classes=6)
        moved = params.perm != y
        fraction = pasted_fraction(x, mixed, params.perm)[moved]
        assert torch.allclose(soft[torch.arange(6, device="cuda"), y][moved], 1 - fraction, atol=1e-6)
    with pytest.raises(ValueError):
        cutmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(0))
