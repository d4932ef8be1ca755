"""What is special about the random horizontal flip (the generic suite covers contract, determinism, claims)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

horizontal_flip = get("horizontal_flip")
M = inspect.getmodule(horizontal_flip)  # sample_/apply_horizontal_flip, HorizontalFlipParams, PAPER_P


def random_image(h: int = 16, w: int = 16, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def draws(n: int, seed: int = 0, **kwargs) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_horizontal_flip_params(16, 16, rng, **kwargs) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def flip_probability_default() -> float:
    """The p that horizontal_flip uses when called without arguments."""
    return inspect.signature(M.horizontal_flip).parameters["p"].default


def flip_frequency() -> float:
    """Fraction of 20,000 default draws whose output is the mirrored image."""
    image = random_image(4, 5)
    mirrored = image[:, ::-1]
    rng = np.random.default_rng(0)
    return float(np.mean([np.array_equal(horizontal_flip(image, rng), mirrored) for _ in range(20_000)]))


def reflections_per_patch() -> int:
    """Number of distinct outputs of 200 default draws on one random (asymmetric) image: the image and its mirror."""
    image = random_image()
    rng = np.random.default_rng(1)
    return len({horizontal_flip(image, rng).tobytes() for _ in range(200)})


def flipped_twice_is_identity() -> bool:
    """Applying the flip twice gives back the input, for several sizes and channel counts."""
    ok = True
    for h, w, c in [(1, 1, 1), (7, 10, 1), (16, 16, 3), (9, 4, 4), (5, 6, 7)]:
        image = random_image(h, w, c, seed=h * w + c)
        q = M.HorizontalFlipParams(flipped=True, size=(h, w))
        ok &= np.array_equal(M.apply_horizontal_flip(M.apply_horizontal_flip(image, q), q), image)
    return bool(ok)


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_p():
    assert horizontal_flip is M.horizontal_flip
    assert create("horizontal_flip").keywords == {"p": 0.5} and M.PAPER_P == 0.5
    assert flip_probability_default() == 0.5


def test_flip_is_the_mirror_x_to_w_minus_1_minus_x():
    image = random_image(6, 9, 3)
    out = M.apply_horizontal_flip(image, M.HorizontalFlipParams(flipped=True, size=(6, 9)))
    for x in range(9):
        assert np.array_equal(out[:, x], image[:, 8 - x])
    kept = M.apply_horizontal_flip(image, M.HorizontalFlipParams(flipped=False, size=(6, 9)))
    assert np.array_equal(kept, image) and kept is not image


def test_flip_frequency_is_p_and_reflections_are_two():
    assert abs(flip_frequency() - 0.5) < 0.02
    assert reflections_per_patch() == M.REFLECTIONS_PER_PATCH == 2
    assert not any(q.flipped for q in draws(300, p=0.0)) and all(q.flipped for q in draws(300, p=1.0))
    assert abs(np.mean([q.flipped for q in draws(20_000, p=0.3)]) - 0.3) < 0.02


def test_flipped_twice_is_identity_and_symmetric_images_are_fixed():
    assert flipped_twice_is_identity()
    half = random_image(8, 4, 3)
    symmetric = np.concatenate([half, half[:, ::-1]], axis=1)  # mirror-symmetric: the flip leaves it unchanged
    assert np.array_equal(horizontal_flip(symmetric, np.random.default_rng(0), p=1.0), symmetric)


def test_flip_keeps_rows_and_pixel_values():
    image = random_image(10, 12, 3)
    out = horizontal_flip(image, np.random.default_rng(0), p=1.0)
    assert np.array_equal(np.sort(out, axis=1), np.sort(image, axis=1))  # each row keeps its values
    assert np.array_equal(out.sum(axis=(0, 1)), image.sum(axis=(0, 1)))


def test_vertical_option_flips_rows():
    image = random_image(5, 7, 3)
    out = horizontal_flip(image, np.random.default_rng(0), p=1.0, vertical=True)
    assert np.array_equal(out, image[::-1])


def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = random_image(20, 30, 3)
    before = image.copy()
    for seed in range(10):
        a = horizontal_flip(image, np.random.default_rng(seed))
        q = M.sample_horizontal_flip_params(20, 30, np.random.default_rng(seed))
        assert np.array_equal(a, M.apply_horizontal_flip(image, q))
    assert np.array_equal(image, before)


@pytest.mark.parametrize("channels", [1, 4, 7])
def test_any_channel_count(channels):
    image = random_image(6, 5, channels)
    assert np.array_equal(horizontal_flip(image, np.random.default_rng(0), p=1.0), image[:, ::-1])


def test_non_contiguous_input():
    image = random_image(8, 8, 3)[:, ::2]  # a strided view
    assert np.array_equal(horizontal_flip(image, np.random.default_rng(0), p=1.0), image[:, ::-1])


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((8, 0, 3), np.uint8)), dict(image=[[[0, 0, 0]]]),
    dict(p=1.5), dict(p=-0.1), dict(p="0.5"), dict(vertical="yes"),
    dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        horizontal_flip(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_horizontal_flip_params(16, 16, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_horizontal_flip(np.zeros((8, 8, 3), np.uint8), q)
    with pytest.raises(ValueError):
        M.apply_horizontal_flip(np.zeros((16, 16, 3), np.uint8), {"flipped": True})


# ---- numpy baseline: `encyclo compare horizontal_flip horizontal_flip@numpy` times it beside the entry ---
def numpy_reference(p: float = 0.5, vertical: bool = False):
    """The random flip in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The coin comes from the entry's own sampler (same rng, same draw); the mirror is a reversed slice.
    """
    sample = module("horizontal_flip").sample_horizontal_flip_params

    def horizontal_flip_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng, p=p, vertical=vertical)
        if not params.flipped:
            return image.copy()
        return (image[::-1] if vertical else image[:, ::-1]).copy()

    return horizontal_flip_numpy


@pytest.mark.parametrize("overrides", [{}, dict(p=1.0), dict(p=1.0, vertical=True)])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("horizontal_flip").defaults, **overrides}
    ours, ref = create("horizontal_flip", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70], photo[:31, :17, :1]):  # the photo, a small crop, one channel
            for seed in range(6):
                assert np.array_equal(ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed)))
