"""What is special about the random resized crop (the generic suite covers contract, determinism, claims)."""

import inspect
import math

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

random_resized_crop = get("random_resized_crop")
M = inspect.getmodule(random_resized_crop)  # sample_/apply_random_resized_crop, PAPER_SCALE, PAPER_RATIO


def draws(n: int, height: int = 300, width: int = 300, seed: int = 0, **kwargs) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_random_resized_crop_params(height, width, rng, **kwargs) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def crop_area_fraction_range() -> list[float]:
    """Smallest and largest crop area / image area over 20,000 default draws on 500 x 500 (2 decimals)."""
    fractions = np.array([q.area_fraction for q in draws(20_000, 500, 500)])
    return [round(float(fractions.min()), 2), round(float(fractions.max()), 2)]


def crop_aspect_ratio_range() -> list[float]:
    """Smallest and largest drawn aspect ratio w / h of 20,000 accepted default draws on 500 x 500 (2 decimals).

    The drawn value, before the sides are rounded to whole pixels (which moves the realised ratio of a
    small crop by up to about 1 %, e.g. to 1.34)."""
    ratios = np.array([q.drawn_ratio for q in draws(20_000, 500, 500) if not q.fallback])
    return [round(float(ratios.min()), 2), round(float(ratios.max()), 2)]


def realised_aspect_ratio_within_one_percent() -> bool:
    """Every realised crop ratio w / h lies within 1 % of [3/4, 4/3] (pixel rounding only)."""
    ratios = np.array([q.aspect_ratio for q in draws(20_000, 500, 500)])
    return bool(ratios.min() >= 0.75 * 0.99 and ratios.max() <= 4 / 3 * 1.01)


# ---- properties ---------------------------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_size():
    assert random_resized_crop is M.random_resized_crop
    assert create("random_resized_crop").keywords == {"size": 224}
    out = create("random_resized_crop", size=(48, 64))(np.zeros((90, 120, 3), np.uint8), np.random.default_rng(0))
    assert out.shape == (48, 64, 3)


def test_defaults_are_the_inception_ranges():
    assert M.PAPER_SCALE == (0.08, 1.0) and M.PAPER_RATIO == (3 / 4, 4 / 3)
    assert crop_area_fraction_range() == [0.08, 1.0]
    assert crop_aspect_ratio_range() == [0.75, 1.33]
    assert realised_aspect_ratio_within_one_percent()
    q = draws(1)[0]
    assert abs(q.box[2] - math.sqrt(q.drawn_scale * 300 * 300 / q.drawn_ratio)) <= 0.5


def test_area_is_uniform_and_log_ratio_is_uniform_on_accepted_draws():
    qs = [q for q in draws(6000, 400, 400) if not q.fallback]
    area = np.array([q.area_fraction for q in qs])
    # Large areas with a far-from-square ratio do not fit and are redrawn, so test the lower part only.
    low = area[area < 0.5]
    assert abs(np.mean(low < 0.29) - 0.5) < 0.04  # uniform on [0.08, 0.5]: half below 0.29
    log_r = np.log([q.aspect_ratio for q in qs if q.area_fraction < 0.3])
    assert abs(np.median(log_r)) < 0.03  # log-uniform on [log 3/4, log 4/3] is symmetric around 0


def test_crop_lies_inside_the_image():
    for q in draws(3000, 97, 211):
        top, left, h, w = q.box
        assert 0 <= top and top + h <= 97 and 0 <= left and left + w <= 211 and h > 0 and w > 0


def test_fallback_is_the_centred_crop_clamped_to_the_ratio():
    # A 10 x 1000 strip: no 3/4..4/3 crop of >= 8 % of its area fits, so all 10 draws fail.
    q = M.sample_random_resized_crop_params(10, 1000, np.random.default_rng(0))
    assert q.fallback and q.box == (0, (1000 - 13) // 2, 10, 13)  # h = 10, w = round(10 * 4/3) = 13
    q = M.sample_random_resized_crop_params(1000, 10, np.random.default_rng(0))
    assert q.fallback and q.box == ((1000 - 13) // 2, 0, 13, 10)  # w = 10, h = round(10 / (3/4)) = 13
    q = M.sample_random_resized_crop_params(50, 50, np.random.default_rng(0), scale=(2.0, 3.0))
    assert q.fallback and q.box == (0, 0, 50, 50)  # square image: the whole image


def test_apply_equals_crop_then_resize():
    image = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    q = M.RandomResizedCropParams(box=(10, 20, 30, 40), size=(60, 80), output_size=(30, 40))
    assert np.array_equal(M.apply_random_resized_crop(image, q), image[10:40, 20:60])  # same size: exact copy
    q2 = M.RandomResizedCropParams(box=(10, 20, 30, 40), size=(60, 80), output_size=(60, 80))
    up = M.apply_random_resized_crop(image, q2, interpolation="nearest")
    assert np.array_equal(up[::2, ::2], image[10:40, 20:60])  # 2x nearest upsampling repeats the pixels


def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = np.random.default_rng(2).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    before = image.copy()
    a = random_resized_crop(image, np.random.default_rng(3), size=32)
    q = M.sample_random_resized_crop_params(64, 96, np.random.default_rng(3), size=32)
    assert np.array_equal(a, M.apply_random_resized_crop(image, q)) and np.array_equal(image, before)
    assert np.array_equal(a, random_resized_crop(image, np.random.default_rng(3), size=32))


@pytest.mark.parametrize("channels", [1, 4])
def test_any_channel_count(channels):
    image = np.zeros((40, 50, channels), np.uint8)
    assert random_resized_crop(image, np.random.default_rng(0), size=16).shape == (16, 16, channels)


def test_one_pixel_image():
    out = random_resized_crop(np.full((1, 1, 3), 9, np.uint8), np.random.default_rng(0), size=4)
    assert out.shape == (4, 4, 3) and (out == 9).all()


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((32, 0, 3), np.uint8)), dict(size=0), dict(size=(2, 0)), dict(size=2.5),
    dict(scale=(0.5, 0.1)), dict(scale=(0.0, 1.0)), dict(ratio=(4 / 3, 3 / 4)), dict(ratio=(1.0,)),
    dict(interpolation="cubic"), dict(max_attempts=0), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        random_resized_crop(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_random_resized_crop_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_random_resized_crop(np.zeros((32, 32, 3), np.uint8), q)
    assert math.isclose(q.aspect_ratio, q.box[3] / q.box[2])


# ---- numpy baseline: `encyclo compare random_resized_crop random_resized_crop@numpy` times it beside it --
def numpy_reference(size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation: str = "bilinear",
                    max_attempts: int = 10):
    """The random resized crop in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The box comes from the entry's own sampler (same rng, same draws); the crop is a slice, resized by
    index arithmetic: ``"bilinear"`` samples at pixel centres ``(i + 0.5) * in / out - 0.5`` (clamped to the
    image) and blends the two neighbours per axis in float32, rows then columns; ``"nearest"`` takes
    ``floor(i * in / out)``. The entry's other filters (bicubic, area, lanczos) have no baseline here.
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"the numpy baseline implements bilinear and nearest, got {interpolation!r}")
    sample = module("random_resized_crop").sample_random_resized_crop_params

    def bilinear_taps(n_out: int, n_in: int):
        x = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        x0 = np.floor(x).astype(int)
        frac = np.where(x0 < 0, 0.0, x - x0).astype(np.float32)  # left of the first centre: the edge pixel
        x0 = np.clip(x0, 0, n_in - 1)
        return x0, np.minimum(x0 + 1, n_in - 1), frac

    def random_resized_crop_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng, size=size, scale=scale, ratio=ratio,
                        max_attempts=max_attempts)
        top, left, h, w = params.box
        out_h, out_w = params.output_size
        crop = image[top:top + h, left:left + w]
        if interpolation == "nearest":
            rows = np.minimum(np.floor(np.arange(out_h) * (h / out_h)).astype(int), h - 1)
            cols = np.minimum(np.floor(np.arange(out_w) * (w / out_w)).astype(int), w - 1)
            return crop[rows][:, cols]
        y0, y1, fy = bilinear_taps(out_h, h)
        x0, x1, fx = bilinear_taps(out_w, w)
        crop = crop.astype(np.float32)
        fy, fx = fy[:, None, None], fx[None, :, None]
        rows = crop[y0] * (1 - fy) + crop[y1] * fy  # (out_h, w, C)
        out = rows[:, x0] * (1 - fx) + rows[:, x1] * fx  # (out_h, out_w, C)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return random_resized_crop_numpy


@pytest.mark.parametrize("overrides", [{}, dict(size=(40, 56)), dict(size=64, interpolation="nearest"),
                                       dict(size=(100, 30), scale=(0.5, 1.0))])
def test_numpy_reference_gives_the_same_output(overrides):
    # Bilinear: equal up to one level at some pixels, since OpenCV blends uint8 with 11-bit fixed-point
    # weights (INTER_RESIZE_COEF_BITS) where the baseline blends in float32. Nearest: identical.
    config = {**entry("random_resized_crop").defaults, **overrides}
    ours, ref = create("random_resized_crop", **overrides), numpy_reference(**config)
    tolerance = 0 if config.get("interpolation") == "nearest" else 1
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(4):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                assert a.shape == b.shape and np.abs(a - b).max() <= tolerance
