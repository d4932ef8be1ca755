"""What is special about SaliencyMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import pytest
import torch

from encyclo import create, get

saliencymix = get("saliencymix")
M = inspect.getmodule(saliencymix)  # the implementation module: sample_saliencymix_params, apply_saliencymix, ...


def batch(n=6, c=3, h=16, w=20, seed=0):
    """Images whose every pixel is distinct across the batch, labels 0..n-1 (one class per image)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


def blob_batch(n=4, h=32, w=32, seed=0):
    """Textured images, each with one bright 5 x 5 square at a random place; returns images, labels, centres."""
    g = torch.Generator().manual_seed(seed)
    x = 0.2 * torch.rand(n, 3, h, w, generator=g)
    centres = torch.stack([torch.randint(4, h - 4, (n,), generator=g), torch.randint(4, w - 4, (n,), generator=g)], 1)
    for i, (r, c) in enumerate(centres.tolist()):
        x[i, :, r - 2:r + 3, c - 2:c + 3] = 1.0
    return x, torch.arange(n), centres


def pasted_fraction(images, mixed, perm):
    from_partner = (mixed == images[perm]).all(1) & (mixed != images).any(1)  # (N, H, W)
    return from_partner.flatten(1).float().mean(1)


# ---- claim measures ---------------------------------------------------------------------------------
def default_beta() -> float:
    """The beta SaliencyMix uses when none is given, read from the function signature."""
    return inspect.signature(saliencymix).parameters["beta"].default


def label_ratio_equals_pasted_area() -> bool:
    """Per image, 1 - lambda equals the pasted pixel fraction exactly, clipped boxes included."""
    x, y = batch(n=4, h=16, w=20)
    clipped = 0
    for seed in range(100):
        params = M.sample_saliencymix_params(x, 1.0, torch.Generator().manual_seed(seed))
        mixed, soft = M.apply_saliencymix(x, y, params, num_classes=4)
        cut_h, cut_w = M.cut_size(params.lam_sampled, 16, 20)
        sides = torch.stack([params.boxes[:, 1] - params.boxes[:, 0], params.boxes[:, 3] - params.boxes[:, 2]], 1)
        clipped += int((sides != torch.stack([cut_h, cut_w])).any(1).sum())
        moved = params.perm != y
        own = soft[torch.arange(4), y][moved]
        if not torch.allclose(own, 1 - pasted_fraction(x, mixed, params.perm)[moved], atol=1e-6):
            return False
    return clipped > 20


def patch_centre_is_saliency_argmax() -> bool:
    """The box of image i is centred on the argmax of its source's saliency map, computed independently."""
    x, _ = batch(n=4, h=16, w=20)
    for seed in range(100):
        params = M.sample_saliencymix_params(x, 1.0, torch.Generator().manual_seed(seed))
        saliency = M.spectral_residual_saliency(x)  # (N, H, W) of every image, in the original order
        for i in range(4):
            source = saliency[int(params.perm[i])]
            row, col = params.centers[i].tolist()
            if float(source[row, col]) != float(source.max()):
                return False
            cut_h, cut_w = (int(s) for s in M.cut_size(params.lam_sampled, 16, 20))
            y1, y2, x1, x2 = params.boxes[i].tolist()
            if (y1, y2, x1, x2) != (max(row - cut_h // 2, 0), min(row - cut_h // 2 + cut_h, 16),
                                    max(col - cut_w // 2, 0), min(col - cut_w // 2 + cut_w, 20)):
                return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_beta():
    assert saliencymix is M.saliencymix and saliencymix.__name__ == "saliencymix"
    assert create("saliencymix", beta=0.5).keywords["beta"] == 0.5


def test_saliency_peak_finds_the_object():
    # Sec. 3: the saliency map highlights the object of interest; a lone bright square on texture is found.
    x, _, centres = blob_batch(n=8)
    saliency = M.spectral_residual_saliency(x)
    peak = saliency.flatten(1).argmax(1)
    found = torch.stack([peak // 32, peak % 32], 1)
    assert int((found - centres).abs().max()) <= 6  # within ~1 blob size in a 32 x 32 image


def test_box_is_cut_around_the_source_object_and_pasted_at_the_same_place():
    # "Salient to Corresponding": the patch keeps its position, and it contains the source's object.
    x, y, centres = blob_batch(n=4)
    params = M.sample_saliencymix_params(x, 1.0, torch.Generator().manual_seed(2))
    mixed, _ = M.apply_saliencymix(x, y, params, num_classes=4)
    for i in range(4):
        y1, y2, x1, x2 = params.boxes[i].tolist()
        j = int(params.perm[i])
        assert torch.equal(mixed[i, :, y1:y2, x1:x2], x[j, :, y1:y2, x1:x2])
        r, c = centres[j].tolist()
        assert y1 <= r < y2 and x1 <= c < x2  # the source's bright square is inside the pasted box
        outside = torch.ones(32, 32, dtype=torch.bool)
        outside[y1:y2, x1:x2] = False
        assert torch.equal(mixed[i][:, outside], x[i][:, outside])


def test_saliency_is_deterministic_and_non_negative():
    x, _, _ = blob_batch(n=2, h=64, w=48)
    s = M.spectral_residual_saliency(x)
    assert s.shape == (2, 64, 48) and s.dtype == torch.float32
    assert torch.equal(s, M.spectral_residual_saliency(x)) and bool((s >= 0).all())


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = saliencymix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = saliencymix(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


def test_p_zero_is_the_identity():
    x, y = batch()
    mixed, soft = saliencymix(x, y, num_classes=6, generator=torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(mixed, x) and torch.equal(soft, torch.eye(6))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_copies_pixels_exactly(dtype):
    x, y = batch()
    params = M.sample_saliencymix_params(x, 1.0, torch.Generator().manual_seed(1))
    ref, soft_ref = M.apply_saliencymix(x, y, params, num_classes=6)
    mixed, soft = M.apply_saliencymix(x.to(dtype), y, params, num_classes=6)
    assert mixed.dtype == dtype and torch.equal(mixed, ref.to(dtype)) and torch.equal(soft, soft_ref)
    M.sample_saliencymix_params(x.to(dtype), 1.0, torch.Generator().manual_seed(1))  # saliency runs in half too


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),
    dict(beta=0.0), dict(beta=float("nan")), dict(p=1.5), dict(p=-0.1), dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        saliencymix(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_boxes_and_labels():
    x, y = batch()
    params = M.sample_saliencymix_params(x.cuda(), 1.0, torch.Generator(device="cuda").manual_seed(0))
    assert params.boxes.device.type == "cuda"
    mixed, soft = M.apply_saliencymix(x.cuda(), y.cuda(), params, num_classes=6)
    moved = (params.perm != y.cuda())
    fraction = pasted_fraction(x.cuda(), mixed, params.perm)[moved]
    assert torch.allclose(soft[torch.arange(6, device="cuda"), y.cuda()][moved], 1 - fraction, atol=1e-6)
    with pytest.raises(ValueError):
        saliencymix(x.cuda(), y.cuda(), num_classes=6, generator=torch.Generator().manual_seed(0))
