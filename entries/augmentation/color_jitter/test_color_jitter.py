"""What is special about colour jitter (the generic suite covers contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

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


# ---- numpy baseline: `encyclo compare color_jitter color_jitter@numpy` times it beside the entry --------
def numpy_reference(brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4, hue: float = 0.1):
    """Colour jitter in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The factors and the order come from the entry's own sampler (same rng, same draws). Each operation
    works in float32 and rounds back to uint8, like the entry: brightness x * b; contrast and saturation
    blend with the (rounded) BT.601 grey; hue goes through OpenCV's 8-bit HSV (H in 0..179 = degrees / 2,
    S and V in 0..255), written out with max/min and the six colour-wheel sectors, adds the shift in
    2-degree steps, and truncates back to uint8 as OpenCV does.
    """
    sample = module("color_jitter").sample_color_jitter_params

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    def grey(image: np.ndarray) -> np.ndarray:  # (H, W, 1) float32
        if image.shape[2] == 1:
            return image.astype(np.float32)
        r, g, b = (image[..., i].astype(np.float32) for i in range(3))
        return np.rint(0.299 * r + 0.587 * g + 0.114 * b)[..., None]

    def rotate_hue(image: np.ndarray, shift: float) -> np.ndarray:
        steps = int(round(shift * 180)) % 180
        if image.shape[2] == 1 or steps == 0:
            return image.copy()
        rgb = image.astype(np.float32)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        v, diff = rgb.max(axis=2), rgb.max(axis=2) - rgb.min(axis=2)
        s = np.rint(255 * diff / np.maximum(v, 1))  # RGB -> HSV, 8-bit: S = 255 (max - min) / max
        raw = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
        h = np.floor(raw * 30 / np.maximum(diff, 1) + 0.5)  # H = 60 degrees * sector position / 2
        h = (np.where(h < 0, h + 180, h) + steps) % 180  # the shift, wrapped around the 180-step circle
        # HSV -> RGB in float32 as OpenCV does: H * 6 / 180 gives the sector and the position in it, S and
        # V are scaled to [0, 1], and the result * 255 is truncated to uint8.
        h6, s, v = h * np.float32(6 / 180), s * np.float32(1 / 255), v * np.float32(1 / 255)
        sector = np.floor(h6)
        f = h6 - sector
        p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
        sector = sector.astype(int)
        r = np.choose(sector, [v, q, p, p, t, v])
        g = np.choose(sector, [t, v, v, q, p, p])
        b = np.choose(sector, [p, p, t, v, v, q])
        return (255 * np.stack([r, g, b], axis=2)).astype(np.uint8)

    ops = {
        "brightness": lambda x, f: to_uint8(x.astype(np.float32) * f),
        "contrast": lambda x, f: to_uint8(x.astype(np.float32) * f + (1 - f) * grey(x).mean()),
        "saturation": lambda x, f: x.copy() if x.shape[2] == 1 else to_uint8(x.astype(np.float32) * f
                                                                           + (1 - f) * grey(x)),
        "hue": rotate_hue,
    }

    def color_jitter_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(rng, brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)
        out = image
        for name in params.order:
            out = ops[name](out, getattr(params, name))
        return out.copy() if out is image else out

    return color_jitter_numpy


@pytest.mark.parametrize("overrides", [{}, dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.5),
                                       dict(hue=0.0)])
def test_numpy_reference_gives_the_same_output(overrides):
    # Close, not equal. OpenCV computes the grey (14-bit luma weights) and RGB -> HSV (12-bit divisions) in
    # fixed point where the baseline uses floats, so a value near a half level can round the other way, and
    # its HSV -> RGB truncates in the SIMD loop but rounds the last pixels of each row (the baseline always
    # truncates: up to 8 % of values one level apart on a 70-pixel-wide crop). One hue step or one
    # saturation level moves a saturated colour by a few levels, rarely. Bound: mean absolute difference
    # below 0.1 level, fewer than 10 % of values differing, fewer than 2 % by more than one level.
    config = {**entry("color_jitter").defaults, **overrides}
    ours, ref = create("color_jitter", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(4):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                diff = np.abs(a - b)
                assert a.shape == b.shape and diff.mean() < 0.1 and (diff > 0).mean() < 0.1 and (diff > 1).mean() < 0.02
