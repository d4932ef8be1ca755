"""What is special about SamplePairing (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import pytest
import torch

from encyclo import create, get

samplepairing = get("samplepairing")
M = inspect.getmodule(samplepairing)  # sample_samplepairing_params, apply_samplepairing, SamplePairingParams


def batch(n=6, c=3, h=8, w=10, seed=0):
    """Images whose pixels differ across the batch, labels 0..n-1."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) + torch.arange(n).float()[:, None, None, None], torch.arange(n)


# ---- claim measures ---------------------------------------------------------------------------------
def label_not_mixed() -> bool:
    """Sec. 2: the label of the first image is kept. Soft targets == one-hot targets on 50 paired batches."""
    for seed in range(50):
        x, _ = batch(seed=seed)
        y = torch.randint(0, 5, (6,), generator=torch.Generator().manual_seed(seed))
        params = M.sample_samplepairing_params(6, torch.Generator().manual_seed(seed))
        out, soft = M.apply_samplepairing(x, y, params, num_classes=5)
        changed = (out != x).flatten(1).any(1)
        if not torch.equal(changed, params.partner != torch.arange(6)):  # every image not paired with itself moved
            return False
        if not torch.equal(soft, torch.nn.functional.one_hot(y, 5).float()):
            return False
    return True


def pixel_weight() -> float:
    """The weight w of the first image in out = w x_i + (1 - w) x_partner, recovered by least squares."""
    x, y = batch(n=8)
    params = M.sample_samplepairing_params(8, torch.Generator().manual_seed(3))
    out, _ = M.apply_samplepairing(x, y, params, num_classes=8)
    keep = params.partner != y
    partner = x[params.partner].flatten(1)[keep]
    diff = x.flatten(1)[keep] - partner
    w = ((out.flatten(1)[keep] - partner) * diff).sum(1) / diff.pow(2).sum(1)
    assert torch.allclose(w, torch.full_like(w, w.mean()), atol=1e-6)
    return round(float(w.mean()), 6)


def distinct_samples_from_4_images() -> int:
    """Abstract: N images give N^2 samples. Count the distinct (image, partner) pairs drawn at N = 4."""
    x, y = batch(n=4)
    seen = set()
    for seed in range(500):
        params = M.sample_samplepairing_params(4, torch.Generator().manual_seed(seed))
        out, _ = M.apply_samplepairing(x, y, params, num_classes=4)
        for i in range(4):  # identify the partner from the pixels: out_i = (x_i + x_j) / 2
            j = int(((2 * out[i] - x[i])[None] - x).flatten(1).abs().amax(1).argmin())
            seen.add((i, j))
    return len(seen)


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_p():
    assert samplepairing is M.samplepairing
    assert create("samplepairing", p=0.0).keywords["p"] == 0.0


def test_output_is_the_exact_average_of_image_and_partner():
    x, y = batch()
    params = M.sample_samplepairing_params(6, torch.Generator().manual_seed(1))
    out, _ = M.apply_samplepairing(x, y, params, num_classes=6)
    assert torch.equal(out, (x + x[params.partner]) * 0.5)


def test_label_of_the_first_image_even_when_partner_has_another_class():
    x, y = batch()
    params = M.SamplePairingParams(partner=torch.tensor([1, 2, 3, 4, 5, 0]), paired=torch.ones(6, dtype=torch.bool))
    out, soft = M.apply_samplepairing(x, y, params, num_classes=6)
    assert torch.equal(soft, torch.eye(6))  # unlike mixup: no weight on the partner's class
    assert not torch.equal(out, x)


def test_p_zero_disables_it_as_in_the_papers_off_epochs():
    x, y = batch()
    out, soft = samplepairing(x, y, num_classes=6, generator=torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(out, x) and torch.equal(soft, torch.eye(6))


def test_p_is_the_per_image_pairing_rate():
    params = M.sample_samplepairing_params(20_000, torch.Generator().manual_seed(0), p=0.3)
    assert abs(float(params.paired.float().mean()) - 0.3) < 0.02


def test_partners_are_drawn_uniformly_and_independently():
    params = M.sample_samplepairing_params(40_000, torch.Generator().manual_seed(0))
    counts = torch.bincount(params.partner, minlength=40_000).float()
    assert float(counts.mean()) == 1.0 and float(counts.max()) < 13  # with replacement, roughly Poisson(1)
    assert 0.3 < float((counts == 0).float().mean()) < 0.44  # e^-1 of the images are nobody's partner


def test_same_seed_same_output_and_inputs_untouched():
    x, y = batch()
    x0, y0 = x.clone(), y.clone()
    a = samplepairing(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    b = samplepairing(x, y, num_classes=6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x0) and torch.equal(y, y0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision(dtype):
    x, y = batch()
    out, soft = samplepairing(x.to(dtype), y, num_classes=6, generator=torch.Generator().manual_seed(2))
    ref, _ = samplepairing(x, y, num_classes=6, generator=torch.Generator().manual_seed(2))
    assert out.dtype == dtype and torch.allclose(out.float(), ref, atol=0.05) and soft.dtype == torch.float32


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(images=torch.rand(0, 3, 8, 8), targets=torch.zeros(0, dtype=torch.long)),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(targets=torch.tensor([-1, 0])),
    dict(p=1.5), dict(p=-0.1), dict(generator=None), dict(num_classes=0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        samplepairing(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_the_formula():
    x, y = batch()
    x, y = x.cuda(), y.cuda()
    params = M.sample_samplepairing_params(6, torch.Generator(device="cuda").manual_seed(0))
    out, soft = M.apply_samplepairing(x, y, params, num_classes=6)
    assert torch.equal(out, (x + x[params.partner]) * 0.5) and torch.equal(soft, torch.eye(6, device="cuda"))
    with pytest.raises(ValueError):
        samplepairing(x, y, num_classes=6, generator=torch.Generator().manual_seed(0))
