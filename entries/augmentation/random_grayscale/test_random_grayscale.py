"""What is special about random grayscale (the generic suite covers contract, determinism, claims)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

random_grayscale = get("random_grayscale")
M = inspect.getmodule(random_grayscale)  # sample_/apply_random_grayscale, to_grayscale, PAPER_P, LUMA_WEIGHTS


def random_image(h: int = 16, w: int = 16, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def grey(out: np.ndarray) -> bool:
    return bool((out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all())


# ---- claim measures ---------------------------------------------------------------------------------
def grayscale_probability_default() -> float:
    """The p that random_grayscale uses when called without arguments."""
    return inspect.signature(M.random_grayscale).parameters["p"].default


def grayscale_frequency() -> float:
    """Fraction of 20,000 default outputs of a colourful 4 x 4 image whose three channels are equal."""
    image = random_image(4, 4)
    assert not grey(image)
    rng = np.random.default_rng(0)
    return float(np.mean([grey(random_grayscale(image, rng)) for _ in range(20_000)]))


def output_channels() -> int:
    """Channel count of a converted 16 x 16 RGB image."""
    return int(random_grayscale(random_image(), np.random.default_rng(0), p=1.0).shape[2])


def channels_equal_after_conversion() -> bool:
    """R = G = B in every pixel of 50 random RGB images converted with p = 1."""
    rng = np.random.default_rng(1)
    return all(grey(random_grayscale(random_image(9, 13, seed=s), rng, p=1.0)) for s in range(50))


def luma_of_pure_primaries() -> list[int]:
    """Grey levels of pure red, green and blue (255) after conversion."""
    primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    return [int(v) for v in random_grayscale(primaries, np.random.default_rng(0), p=1.0)[0, :, 0]]


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_p():
    assert random_grayscale is M.random_grayscale
    assert create("random_grayscale").keywords == {"p": 0.2} and M.PAPER_P == 0.2
    assert grayscale_probability_default() == 0.2


def test_frequency_is_p_and_output_keeps_three_equal_channels():
    assert abs(grayscale_frequency() - 0.2) < 0.01
    assert output_channels() == 3 and channels_equal_after_conversion()
    rng = np.random.default_rng(2)
    assert not any(M.sample_random_grayscale_params(4, 4, rng, p=0.0).applied for _ in range(300))
    assert abs(np.mean([M.sample_random_grayscale_params(4, 4, rng, p=0.7).applied for _ in range(10_000)]) - 0.7) < 0.02


def test_luma_is_bt601_rounded():
    assert luma_of_pure_primaries() == [76, 150, 29]
    image = random_image(32, 32)
    out = M.to_grayscale(image)[..., 0].astype(int)
    exact = image.astype(np.float64) @ np.array(M.LUMA_WEIGHTS)  # 0.299 R + 0.587 G + 0.114 B
    # Rounded to the nearest level; OpenCV's 14-bit fixed-point weights (4899, 9617, 1868) / 16384 move a
    # value within about 0.01 of a half level to the other side.
    assert np.abs(out - exact).max() <= 0.51
    # torchvision's uint8 tensor path (0.2989, 0.587, 0.114, truncated) is at most one level lower.
    tv = np.floor(image.astype(np.float32) @ np.array([0.2989, 0.587, 0.114], np.float32)).astype(int)
    assert np.abs(out - tv).max() <= 1


def test_grey_pixels_stay_and_bgr_order_swaps_the_weights():
    g = np.repeat(random_image(8, 8, 1), 3, axis=2)  # already grey: R = G = B
    assert np.array_equal(M.to_grayscale(g), g)  # the weights sum to 1
    rgb = random_image(8, 8)
    assert np.array_equal(M.to_grayscale(rgb[..., ::-1], channel_order="bgr"), M.to_grayscale(rgb))
    assert M.to_grayscale(np.array([[[0, 0, 255]]], np.uint8), channel_order="bgr")[0, 0, 0] == 76  # red in BGR


def test_not_applied_is_an_unchanged_copy_and_one_channel_passes_through():
    image = random_image()
    kept = M.apply_random_grayscale(image, M.RandomGrayscaleParams(applied=False, size=(16, 16)))
    assert np.array_equal(kept, image) and kept is not image
    one = random_image(6, 7, 1)
    assert np.array_equal(random_grayscale(one, np.random.default_rng(0), p=1.0), one)


def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = random_image(20, 30)
    before = image.copy()
    for seed in range(20):
        a = random_grayscale(image, np.random.default_rng(seed))
        q = M.sample_random_grayscale_params(20, 30, np.random.default_rng(seed))
        assert np.array_equal(a, M.apply_random_grayscale(image, q))
    assert np.array_equal(image, before)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(image=np.zeros((8, 8, 2), np.uint8)), dict(p=1.2), dict(p=-0.5), dict(p=None),
    dict(channel_order="hsv"), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        random_grayscale(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_random_grayscale_params(16, 16, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_random_grayscale(np.zeros((8, 8, 3), np.uint8), q)


# ---- numpy baseline: `encyclo compare random_grayscale random_grayscale@numpy` times it beside the entry --
def numpy_reference(p: float = 0.2, channel_order: str = "rgb"):
    """Random grayscale in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The coin comes from the entry's own sampler (same rng, same draw); the luma is the float BT.601 sum
    0.299 R + 0.587 G + 0.114 B per pixel, rounded, repeated in 3 channels.
    """
    sample = module("random_grayscale").sample_random_grayscale_params
    weights = np.array([0.299, 0.587, 0.114])
    if channel_order == "bgr":
        weights = weights[::-1]

    def random_grayscale_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng, p=p)
        if not params.applied or image.shape[2] == 1:
            return image.copy()
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        luma = np.rint(weights[0] * r + weights[1] * g + weights[2] * b).astype(np.uint8)
        return np.stack([luma, luma, luma], axis=2)

    return random_grayscale_numpy


@pytest.mark.parametrize("overrides", [{}, dict(p=1.0), dict(p=1.0, channel_order="bgr")])
def test_numpy_reference_gives_the_same_output(overrides):
    # Equal up to one level, at few pixels: OpenCV's cvtColor uses 14-bit fixed-point weights
    # (4899, 9617, 1868) / 16384, which move a luma within ~0.01 of a half level to the other side.
    config = {**entry("random_grayscale").defaults, **overrides}
    ours, ref = create("random_grayscale", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                assert a.shape == b.shape and np.abs(a - b).max() <= 1 and (a != b).mean() < 0.01
