"""What is special about ResizeMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, get

resizemix = get("resizemix")
M = inspect.getmodule(resizemix)  # the implementation module: sample_resizemix_params, apply_resizemix, ...


def batch(n=6, c=3, h=16, w=20, seed=0):
    """Images whose every pixel is distinct across the batch, labels 0..n-1 (one class per image)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


def patch_region(params, i, height, width):
    y1, x1 = params.offsets[i].tolist()
    h, w = params.patch.tolist()
    region = torch.zeros(height, width, dtype=torch.bool)
    region[y1:y1 + h, x1:x1 + w] = True
    return region


# ---- claim measures ---------------------------------------------------------------------------------
def default_tau_min() -> float:
    return inspect.signature(resizemix).parameters["tau_min"].default


def default_tau_max() -> float:
    return inspect.signature(resizemix).parameters["tau_max"].default


def label_ratio_equals_pasted_area() -> bool:
    """1 - lambda equals the fraction of pixels that come from the partner, on 200 draws."""
    x, y = batch(n=4, h=24, w=20)
    for seed in range(200):
        params = M.sample_resizemix_params(4, 24, 20, torch.Generator().manual_seed(seed))
        mixed, soft = M.apply_resizemix(x, y, params, num_classes=4)
        moved = params.perm != y
        changed = (mixed != x).any(1).flatten(1).float().mean(1)[moved]  # pasted pixels differ (distinct images)
        if not torch.allclose(soft[torch.arange(4), y][moved], 1 - changed, atol=1e-6):
            return False
    return True


def whole_source_is_pasted() -> bool:
    """Each pasted patch is the entire partner image resized (F.interpolate at the patch size)."""
    x, y = batch(n=4, h=24, w=20)
    for seed in range(50):
        params = M.sample_resizemix_params(4, 24, 20, torch.Generator().manual_seed(seed))
        mixed, _ = M.apply_resizemix(x, y, params, num_classes=4)
        h, w = params.patch.tolist()
        resized = F.interpolate(x[params.perm], size=(h, w), mode="nearest")
        for i in range(4):
            y1, x1 = params.offsets[i].tolist()
            if not torch.equal(mixed[i, :, y1:y1 + h, x1:x1 + w], resized[i]):
                return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_parameters():
    assert resizemix is M.resizemix and resizemix.__name__ == "resizemix"
    assert create("resizemix", tau_max=0.5).keywords["tau_max"] == 0.5


def test_bilinear_patch_matches_f_interpolate():
    x, y = batch(n=4, h=37, w=45)
    for seed in range(10):
        params = M.sample_resizemix_params(4, 37, 45, torch.Generator().manual_seed(seed))
        mixed, _ = M.apply_resizemix(x, y, params, num_classes=4, interpolation="bilinear")
        h, w = params.patch.tolist()
        ref = F.interpolate(x[params.perm], size=(h, w), mode="bilinear", align_corners=False)
        for i in range(4):
            y1, x1 = params.offsets[i].tolist()
            assert torch.allclose(mixed[i, :, y1:y1 + h, x1:x1 + w], ref[i], atol=1e-5)


def test_tau_is_uniform_on_the_range_and_sets_the_patch_size():
    taus, lams = [], []
    for seed in range(2000):
        params = M.sample_resizemix_params(2, 224, 224, torch.Generator().manual_seed(seed))
        h, w = params.patch.tolist()
        tau = float(params.tau)
        assert 0.1 <= tau <= 0.8 and h == int(224 * tau) and w == int(224 * tau)
        taus.append(tau)
        lams.append(float(params.lam))
    taus = torch.tensor(taus)
    assert abs(float(taus.mean()) - 0.45) < 0.02 and abs(float(taus.var()) - 0.7**2 / 12) < 0.005
    # E[1 - lambda] = E[tau^2] = (0.8^3 - 0.1^3) / (3 * 0.7) = 0.243 (slightly less after flooring)
    assert abs((1 - torch.tensor(lams).mean().item()) - 0.243) < 0.015


def test_patch_is_always_inside_and_positions_differ_per_image():
    params = M.sample_resizemix_params(64, 32, 40, torch.Generator().manual_seed(0))
    h, w = params.patch.tolist()
    y1, x1 = params.offsets.unbind(1)
    assert bool((y1 >= 0).all() and (y1 + h <= 32).all() and (x1 >= 0).all() and (x1 + w <= 40).all())
    assert len(set(map(tuple, params.offsets.tolist()))) > 10


def test_pixels_outside_the_patch_are_untouched():
    x, y = batch()
    params = M.sample_resizemix_params(6, 16, 20, torch.Generator().manual_seed(4))
    mixed, _ = M.apply_resizemix(x, y, params, num_classes=6)
    for i in range(6):
        outside = ~patch_region(params, i, 16, 20)
        assert torch.equal(mixed[i][:, outside], x[i][:, outside])


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = resizemix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = resizemix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_nearest_copies_pixels_exactly(dtype):
    x, y = batch()
    params = M.sample_resizemix_params(6, 16, 20, torch.Generator().manual_seed(1))
    ref, soft_ref = M.apply_resizemix(x, y, params, num_classes=6)
    mixed, soft = M.apply_resizemix(x.to(dtype), y, params, num_classes=6)
    assert mixed.dtype == dtype and torch.equal(mixed, ref.to(dtype)) and torch.equal(soft, soft_ref)
    bilinear, _ = M.apply_resizemix(x.to(dtype), y, params, num_classes=6, interpolation="bilinear")
    assert bilinear.dtype == dtype


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),
    dict(tau_min=0.0), dict(tau_max=1.5), dict(tau_min=0.6, tau_max=0.5), dict(interpolation="bicubic"),
    dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        resizemix(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_patch_matches_f_interpolate():
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    params = M.sample_resizemix_params(6, 16, 20, torch.Generator(device="cuda").manual_seed(0))
    assert params.offsets.device.type == "cuda"
    for mode in ("nearest", "bilinear"):
        mixed, soft = M.apply_resizemix(x, y, params, num_classes=6, interpolation=mode)
        h, w = params.patch.tolist()
        kw = {} if mode == "nearest" else {"align_corners": False}
        ref = F.interpolate(x[params.perm], size=(h, w), mode=mode, **kw)
        for i in range(6):
            y1, x1 = params.offsets[i].tolist()
            assert torch.allclose(mixed[i, :, y1:y1 + h, x1:x1 + w], ref[i], atol=1e-5)
    with pytest.raises(ValueError):
        resizemix(x, y, num_classes=6, generator=torch.Generator().manual_seed(0))
