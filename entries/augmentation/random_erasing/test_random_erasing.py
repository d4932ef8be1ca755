"""What is special about Random Erasing (the generic suite covers the contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

random_erasing = get("random_erasing")
M = inspect.getmodule(random_erasing)  # the implementation module: sample_/apply_random_erasing, PAPER_DEFAULTS


def draws(n: int, height: int = 128, width: int = 128, seed: int = 0, **kwargs) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_random_erasing_params(height, width, rng, **kwargs) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def default_hyperparameters() -> list[float]:
    """(p, s_l, s_h, r_1) that random_erasing uses when called without arguments."""
    defaults = inspect.signature(M.random_erasing).parameters
    return [defaults[name].default for name in ("p", "s_l", "s_h", "r_1")]


def erased_area_ratio_range() -> list[float]:
    """Smallest and largest erased fraction of a 256 x 256 image over 20,000 erasing draws (2 decimals)."""
    ratios = np.array([q.area / 256**2 for q in draws(20_000, 256, 256, p=1.0)])
    return [round(float(ratios.min()), 2), round(float(ratios.max()), 2)]


def erasing_frequency() -> float:
    """Fraction of 20,000 default draws that erase a rectangle (the paper's p = 0.5)."""
    return float(np.mean([q.applied for q in draws(20_000)]))


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_defaults():
    assert random_erasing is M.random_erasing
    assert create("random_erasing").keywords == M.PAPER_DEFAULTS
    assert default_hyperparameters() == [M.PAPER_DEFAULTS[k] for k in ("p", "s_l", "s_h", "r_1")]


def test_area_and_aspect_follow_the_drawn_values():
    for q in draws(2000, 200, 300, p=1.0):
        assert q.applied
        y1, y2, x1, x2 = q.box
        h, w = y2 - y1, x2 - x1
        assert 0 <= y1 < y2 < 200 + 1 and 0 <= x1 < x2 <= 300 and h < 200 and w < 300
        assert 0.02 <= q.area_ratio <= 0.4 and 0.3 <= q.aspect_ratio <= 1 / 0.3
        assert abs(h - np.sqrt(q.area_ratio * 200 * 300 * q.aspect_ratio)) <= 0.5  # H_e = sqrt(S_e r_e)
        assert abs(w - np.sqrt(q.area_ratio * 200 * 300 / q.aspect_ratio)) <= 0.5  # W_e = sqrt(S_e / r_e)


def test_erased_area_within_s_l_s_h_and_probability_p():
    assert erased_area_ratio_range() == [0.02, 0.4]
    assert abs(erasing_frequency() - 0.5) < 0.02
    assert not any(q.applied for q in draws(200, p=0.0))


def test_random_fill_is_uniform_noise_and_only_the_box_changes():
    image = np.full((64, 64, 3), 7, np.uint8)
    q = M.RandomErasingParams(box=(0, 40, 0, 50), size=(64, 64), applied=True, noise_seed=5)
    out = M.apply_random_erasing(image, q)
    patch = out[:40, :50]
    assert patch.min() < 10 and patch.max() > 245 and abs(float(patch.mean()) - 127.5) < 3  # U{0..255}
    rest = np.ones((64, 64), bool)
    rest[:40, :50] = False
    assert (out[rest] == 7).all()
    assert np.array_equal(out, M.apply_random_erasing(image, q))  # apply is deterministic


def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    before = image.copy()
    a = random_erasing(image, np.random.default_rng(3), p=1.0)
    q = M.sample_random_erasing_params(40, 50, np.random.default_rng(3), p=1.0)
    assert np.array_equal(a, M.apply_random_erasing(image, q)) and np.array_equal(image, before)
    assert np.array_equal(a, random_erasing(image, np.random.default_rng(3), p=1.0))
    assert (a != image).any(axis=2).sum() <= q.area


def test_fill_values_and_channels():
    image = np.random.default_rng(2).integers(1, 255, (32, 32, 3), dtype=np.uint8)
    q = M.RandomErasingParams(box=(2, 10, 3, 20), size=(32, 32), applied=True)
    assert (M.apply_random_erasing(image, q, fill=(1, 2, 3))[2:10, 3:20] == (1, 2, 3)).all()
    mean = np.rint(image.reshape(-1, 3).mean(0))
    assert (M.apply_random_erasing(image, q, fill="mean")[2:10, 3:20] == mean).all()
    grey = np.zeros((20, 30, 1), np.uint8)
    assert random_erasing(grey, np.random.default_rng(0), p=1.0, fill=9).max() == 9


def test_tiny_image_gives_up_and_returns_a_copy():
    image = np.full((1, 1, 3), 4, np.uint8)  # no rectangle strictly smaller than 1 x 1 exists
    out = random_erasing(image, np.random.default_rng(0), p=1.0)
    assert np.array_equal(out, image) and out is not image


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(p=1.5), dict(p=-0.1), dict(s_l=0.5, s_h=0.4),
    dict(s_l=0.0), dict(s_h=1.2), dict(r_1=0.0), dict(r_1=2.0), dict(max_attempts=0),
    dict(fill=256), dict(fill=(1, 2)), dict(fill="median"), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        random_erasing(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_random_erasing_params(64, 64, np.random.default_rng(0), p=1.0)
    with pytest.raises(ValueError):
        M.apply_random_erasing(np.zeros((32, 32, 3), np.uint8), q)


# ---- numpy baseline: `encyclo compare random_erasing random_erasing@numpy` times it beside the entry -----
def numpy_reference(p: float = 0.5, s_l: float = 0.02, s_h: float = 0.4, r_1: float = 0.3, fill="random",
                    max_attempts: int = 100):
    """Random Erasing in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The rectangle (and the noise seed) come from the entry's own sampler (same rng, same draws); the
    rectangle is overwritten with a slice assignment, as in the authors' ``transforms.py``.
    """
    sample = module("random_erasing").sample_random_erasing_params

    def random_erasing_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, rng, p=p, s_l=s_l, s_h=s_h, r_1=r_1, max_attempts=max_attempts)
        out = image.copy()
        if params.applied:
            y1, y2, x1, x2 = params.box
            if fill == "random":  # i.i.d. uniform levels, from the params' noise seed
                out[y1:y2, x1:x2] = np.random.default_rng(params.noise_seed).integers(0, 256, (y2 - y1, x2 - x1, c),
                                                                                       dtype=np.uint8)
            elif fill == "mean":
                out[y1:y2, x1:x2] = np.rint(image.reshape(-1, c).mean(axis=0))
            else:
                out[y1:y2, x1:x2] = fill
        return out

    return random_erasing_numpy


@pytest.mark.parametrize("overrides", [{}, dict(p=1.0), dict(p=1.0, fill="mean"), dict(p=1.0, fill=(4, 5, 6), r_1=0.5)])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("random_erasing").defaults, **overrides}
    ours, ref = create("random_erasing", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                assert np.array_equal(ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed)))
