"""What is special about colour jitter (the generic suite covers contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, get

color_jitter = get("color_jitter")
M = inspect.getmodule(color_jitter)  # sample_/apply_color_jitter, adjust_*, DEFAULTS


def only(name: str, value: float) -> "M.ColorJitterParams":
    return M.ColorJitterParams(order=M.OPS, **{name: value})


# ---- claim measures ---------------------------------------------------------------------------------
def brightness_mean_ratio() -> float:
    """Mean intensity after brightness factor 1.3 / before, on a photo-like image that does not clip."""
    image = np.random.default_rng(0).integers(20, 180, (64, 64, 3), dtype=np.uint8)
    out = M.apply_color_jitter(image, only("brightness", 1.3))
    return round(float(out.mean() / image.mean()), 3)


def hue_half_turn_maps_red_to_cyan() -> list[int]:
    """RGB of pure red after a hue shift of 0.5 turns."""
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    return M.apply_color_jitter(red, only("hue", 0.5))[0, 0].tolist()


def default_strengths() -> list[float]:
    defaults = inspect.signature(M.color_jitter).parameters
    return [defaults[k].default for k in M.OPS]


# ---- properties -------------------------------------------------------------------------------------
def test_create_binds_the_defaults():
    assert color_jitter is M.color_jitter and create("color_jitter").keywords == M.DEFAULTS
    assert default_strengths() == [0.4, 0.4, 0.4, 0.1]


def test_brightness_scales_the_mean_and_clips():
    assert brightness_mean_ratio() == 1.3
    assert (M.adjust_brightness(np.full((2, 2, 3), 200, np.uint8), 2.0) == 255).all()
    assert (M.adjust_brightness(np.full((2, 2, 3), 200, np.uint8), 0.0) == 0).all()


def test_contrast_keeps_the_mean_grey_and_scales_deviations():
    image = np.random.default_rng(1).integers(60, 190, (32, 32, 3), dtype=np.uint8)
    grey_mean = float(M._grey(image).mean())
    out = M.adjust_contrast(image, 0.5).astype(float)
    assert np.allclose(out, 0.5 * image + 0.5 * grey_mean, atol=0.51)
    assert np.allclose(M.adjust_contrast(image, 0.0), np.rint(grey_mean))


def test_saturation_zero_gives_grey_and_one_is_identity():
    image = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    grey = M.adjust_saturation(image, 0.0)
    assert (grey == grey[..., :1]).all()
    assert np.array_equal(M.adjust_saturation(image, 1.0), image)


def test_hue_shift_wraps_around_and_zero_is_identity():
    assert hue_half_turn_maps_red_to_cyan() == [0, 255, 255]
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    assert M.adjust_hue(red, 1 / 3)[0, 0].tolist() == [0, 255, 0]  # +120 degrees: green
    assert M.adjust_hue(red, -1 / 3)[0, 0].tolist() == [0, 0, 255]  # -120 degrees wraps to blue
    image = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(M.adjust_hue(image, 0.0), image)
    assert np.abs(M.adjust_hue(M.adjust_hue(image, 0.25), 0.75).astype(int) - image).max() <= 8  # full turn


def test_random_order_and_ranges():
    rng = np.random.default_rng(0)
    qs = [M.sample_color_jitter_params(rng) for _ in range(2000)]
    assert len({q.order for q in qs}) == 24  # all 4! orders occur
    b = np.array([q.brightness for q in qs])
    h = np.array([q.hue for q in qs])
    assert 0.6 <= b.min() < 0.62 and 1.38 < b.max() <= 1.4 and -0.1 <= h.min() < -0.09 and 0.09 < h.max() <= 0.1
    assert M.sample_color_jitter_params(rng, brightness=1.5).brightness >= 0.0  # max(0, 1 - 1.5)


def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = np.random.default_rng(4).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    before = image.copy()
    a = color_jitter(image, np.random.default_rng(5))
    q = M.sample_color_jitter_params(np.random.default_rng(5))
    assert np.array_equal(a, M.apply_color_jitter(image, q)) and np.array_equal(image, before)
    assert np.array_equal(a, color_jitter(image, np.random.default_rng(5)))


def test_grey_image_only_gets_brightness_and_contrast():
    grey = np.random.default_rng(6).integers(0, 256, (10, 10, 1), dtype=np.uint8)
    q = M.ColorJitterParams(order=M.OPS, saturation=0.2, hue=0.3)
    assert np.array_equal(M.apply_color_jitter(grey, q), grey)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(brightness=-0.1), dict(contrast=float("nan")), dict(saturation=-1), dict(hue=0.6), dict(hue=-0.1),
    dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        color_jitter(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)
