"""What is special about RICAP (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

ricap = get("ricap")
M = inspect.getmodule(ricap)  # the implementation module: sample_ricap_params, apply_ricap, region_sizes, ...


def batch(n=6, c=3, h=16, w=20, seed=0):
    """Images whose every pixel is distinct across the batch, labels 0..n-1 (one class per image)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


def concatenated(x, params):
    """The reference construction: crop four shuffled batches and concatenate (the paper's appendix code)."""
    heights, widths = M.region_sizes(params.boundary, x.shape[2], x.shape[3])
    crops = []
    for k in range(4):
        y_k, x_k = params.offsets[k].tolist()
        crops.append(x[params.perms[k]][:, :, y_k:y_k + int(heights[k]), x_k:x_k + int(widths[k])])
    return torch.cat([torch.cat(crops[:2], 3), torch.cat(crops[2:], 3)], 2)


# ---- claim measures ---------------------------------------------------------------------------------
def default_beta() -> float:
    """The beta RICAP uses when none is given, read from the function signature."""
    return inspect.signature(ricap).parameters["beta"].default


def label_weights_sum_to_one() -> bool:
    for seed in range(500):
        params = M.sample_ricap_params(2, 24, 20, 0.3, torch.Generator().manual_seed(seed))
        if abs(float(params.weights.sum()) - 1.0) > 1e-6 or bool((params.weights < 0).any()):
            return False
    return True


def label_weights_equal_region_areas() -> bool:
    """The fraction of each output's pixels copied from each source image equals that image's label weight."""
    x, y = batch(n=6, h=24, w=20)  # labels 0..5: one class per image, so soft[i, j] is image j's weight
    for seed in range(200):
        params = M.sample_ricap_params(6, 24, 20, 0.3, torch.Generator().manual_seed(seed))
        patched, soft = M.apply_ricap(x, y, params, num_classes=6)
        owner = patched[:, 0].floor().long()  # (N, H, W): image j's pixels lie in [j, j + 1)
        fractions = torch.stack([(owner == j).flatten(1).float().mean(1) for j in range(6)], 1)  # (N, 6)
        if not torch.allclose(fractions, soft, atol=1e-6):
            return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_beta():
    assert ricap is M.ricap and ricap.__name__ == "ricap"
    assert create("ricap", beta=1.0).keywords["beta"] == 1.0


def test_output_equals_the_concatenation_of_four_crops():
    x, y = batch(n=5, h=13, w=17)
    for seed in range(30):
        params = M.sample_ricap_params(5, 13, 17, 0.3, torch.Generator().manual_seed(seed))
        patched, _ = M.apply_ricap(x, y, params, num_classes=5)
        assert torch.equal(patched, concatenated(x, params))


def test_region_sizes_follow_the_boundary():
    heights, widths = M.region_sizes(torch.tensor([7, 3]), 16, 20)
    assert heights.tolist() == [7, 7, 9, 9] and widths.tolist() == [3, 17, 3, 17]
    assert int((heights * widths).sum()) == 16 * 20


def test_boundary_follows_beta_and_crops_fit():
    # w = round(w' I_x), w' ~ Beta(0.3, 0.3): U-shaped, mean 1/2, variance 1 / (4 (2 beta + 1)) = 0.156.
    ws, hs = [], []
    for seed in range(1500):
        params = M.sample_ricap_params(1, 32, 32, 0.3, torch.Generator().manual_seed(seed))
        h, w = params.boundary.tolist()
        heights, widths = M.region_sizes(params.boundary, 32, 32)
        y_k, x_k = params.offsets.unbind(1)
        assert bool((y_k >= 0).all() and (y_k + heights <= 32).all())
        assert bool((x_k >= 0).all() and (x_k + widths <= 32).all())
        ws.append(w / 32)
        hs.append(h / 32)
    ws = np.array(ws)
    assert abs(ws.mean() - 0.5) < 0.02 and abs(ws.var() - 1 / (4 * 1.6)) < 0.01
    assert (np.minimum(ws, 1 - ws) < 0.1).mean() > 0.35  # mass near the edges: one image usually dominates
    assert abs(np.mean(hs) - 0.5) < 0.02


def test_four_independent_permutations():
    params = M.sample_ricap_params(16, 8, 8, 0.3, torch.Generator().manual_seed(0))
    for k in range(4):
        assert torch.equal(params.perms[k].sort().values, torch.arange(16))
    assert len({tuple(p.tolist()) for p in params.perms}) == 4


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = ricap(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = ricap(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_copies_pixels_exactly(dtype):
    x, y = batch()
    params = M.sample_ricap_params(6, 16, 20, 0.3, torch.Generator().manual_seed(1))
    ref, soft_ref = M.apply_ricap(x, y, params, num_classes=6)
    patched, soft = M.apply_ricap(x.to(dtype), y, params, num_classes=6)
    assert patched.dtype == dtype and torch.equal(patched, ref.to(dtype)) and torch.equal(soft, soft_ref)


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),
    dict(beta=0.0), dict(beta=float("inf")), dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        ricap(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


def test_params_for_another_size_are_rejected():
    x, y = batch()
    params = M.sample_ricap_params(6, 32, 32, 0.3, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        M.apply_ricap(x, y, params, num_classes=6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_the_concatenation():
    x, y = batch()
    params = M.sample_ricap_params(6, 16, 20, 0.3, torch.Generator(device="cuda").manual_seed(0))
    assert params.perms.device.type == "cuda"
    patched, soft = M.apply_ricap(x.cuda(), y.cuda(), params, num_classes=6)
    assert torch.equal(patched, concatenated(x.cuda(), params))
    assert torch.allclose(soft.sum(1), torch.ones(6, device="cuda"))
    with pytest.raises(ValueError):
        ricap(x.cuda(), y.cuda(), num_classes=6, generator=torch.Generator().manual_seed(0))
