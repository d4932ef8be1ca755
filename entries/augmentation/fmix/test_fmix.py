"""What is special about FMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

fmix = get("fmix")
M = inspect.getmodule(fmix)  # the implementation module: sample_fmix_params, apply_fmix, low_frequency_image, ...


def batch(n=6, c=3, h=16, w=20, seed=0):
    """Images whose every pixel is distinct across the batch, labels 0..n-1 (one class per image)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


# ---- claim measures ---------------------------------------------------------------------------------
def default_decay_power() -> float:
    """The delta FMix uses when none is given, read from the function signature."""
    return inspect.signature(fmix).parameters["decay_power"].default


def default_alpha() -> float:
    """The alpha FMix uses when none is given, read from the function signature."""
    return inspect.signature(fmix).parameters["alpha"].default


def mask_mean_equals_label_weight() -> bool:
    """Sec. 3: the kept-pixel fraction equals the label weight exactly, and the Beta draw within 1/(2HW)."""
    x, y = batch(n=4, h=16, w=20)
    for seed in range(200):
        params = M.sample_fmix_params(4, 16, 20, 1.0, torch.Generator().manual_seed(seed))
        mixed, soft = M.apply_fmix(x, y, params, num_classes=4)
        moved = params.perm != y
        kept = (mixed == x).all(1).flatten(1).float().mean(1)[moved]  # measured from the pixels
        own = soft[torch.arange(4), y][moved]
        if not torch.allclose(kept, own, atol=1e-6):
            return False
        if abs(float(params.lam) - float(params.lam_sampled)) > 0.5 / 320 + 1e-6:
            return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_parameters():
    assert fmix is M.fmix and fmix.__name__ == "fmix"
    bound = create("fmix", alpha=0.5, decay_power=4.0)
    assert bound.keywords["alpha"] == 0.5 and bound.keywords["decay_power"] == 4.0


def test_low_frequency_image_matches_the_numpy_formula():
    # Sec. 3 with the authors' frequency grid: scale 1 / max(f, 1/max(H, W))^delta, then the real inverse DFT.
    height, width, delta = 12, 10, 3.0
    g = torch.Generator().manual_seed(0)
    image = M.low_frequency_image(height, width, delta, g)
    parts = torch.randn((2, height, width // 2 + 1), generator=torch.Generator().manual_seed(0)).double().numpy()
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :]
    scale = 1.0 / np.maximum(np.sqrt(fx**2 + fy**2), 1.0 / max(height, width)) ** delta
    ref = np.fft.irfft2((parts[0] + 1j * parts[1]) * scale, s=(height, width))
    assert np.allclose(image.numpy(), ref, atol=1e-5 * np.abs(ref).max())


def test_larger_decay_gives_smoother_masks():
    # Sec. 3: delta controls the decay of high frequencies -> fewer mask boundary pixels.
    def boundary(delta):
        total = 0
        for seed in range(20):
            image = M.low_frequency_image(64, 64, delta, torch.Generator().manual_seed(seed))
            mask, _ = M.binarise(image, 0.5)
            total += int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
        return total
    assert boundary(1.0) > 2 * boundary(3.0) > 0


def test_masks_are_not_point_symmetric():
    # Independent real and imaginary parts (the paper's text); the authors' real-valued spectrum would give
    # G(y, x) = G(-y, -x) exactly.
    image = M.low_frequency_image(32, 32, 3.0, torch.Generator().manual_seed(0))
    mirrored = torch.roll(image.flip(0, 1), shifts=(1, 1), dims=(0, 1))
    assert not torch.allclose(image, mirrored, atol=1e-3 * float(image.abs().max()))


def test_binarise_keeps_the_brightest_pixels():
    image = torch.randn(8, 9, generator=torch.Generator().manual_seed(0))
    mask, mean = M.binarise(image, 0.4)
    count = round(0.4 * 72)
    assert int(mask.sum()) == count and float(mean) == pytest.approx(count / 72)
    assert float(image[mask].min()) > float(image[~mask].max())


def test_pixels_come_from_the_image_where_the_mask_is_set_and_from_the_partner_elsewhere():
    x, y = batch()
    params = M.sample_fmix_params(6, 16, 20, 1.0, torch.Generator().manual_seed(3))
    mixed, _ = M.apply_fmix(x, y, params, num_classes=6)
    keep = params.mask
    assert keep.any() and (~keep).any()
    assert torch.equal(mixed[:, :, keep], x[:, :, keep])
    assert torch.equal(mixed[:, :, ~keep], x[params.perm][:, :, ~keep])


def test_lambda_is_uniform_at_alpha_1():
    lam = M.sample_beta(1.0, torch.Generator().manual_seed(0), (20_000,))
    assert abs(float(lam.mean()) - 0.5) < 0.01 and abs(float(lam.var()) - 1 / 12) < 0.005


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = fmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = fmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_copies_pixels_exactly(dtype):
    x, y = batch()
    params = M.sample_fmix_params(6, 16, 20, 1.0, torch.Generator().manual_seed(1))
    ref, soft_ref = M.apply_fmix(x, y, params, num_classes=6)
    mixed, soft = M.apply_fmix(x.to(dtype), y, params, num_classes=6)
    assert mixed.dtype == dtype and torch.equal(mixed, ref.to(dtype)) and torch.equal(soft, soft_ref)


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),
    dict(alpha=0.0), dict(alpha=float("nan")), dict(decay_power=0.0), dict(decay_power=-1.0),
    dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        fmix(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


def test_params_for_another_size_are_rejected():
    x, y = batch()
    params = M.sample_fmix_params(6, 32, 32, 1.0, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        M.apply_fmix(x, y, params, num_classes=6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_mask_mean_equals_label_weight():
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    for seed in range(10):
        params = M.sample_fmix_params(6, 16, 20, 1.0, torch.Generator(device="cuda").manual_seed(seed))
        assert params.mask.device.type == "cuda"
        mixed, soft = M.apply_fmix(x, y, params, num_classes=6)
        moved = params.perm != y
        kept = (mixed == x).all(1).flatten(1).float().mean(1)[moved]
        assert torch.allclose(soft[torch.arange(6, device="cuda"), y][moved], kept, atol=1e-6)
    with pytest.raises(ValueError):
        fmix(x, y, num_classes=6, generator=torch.Generator().manual_seed(0))
