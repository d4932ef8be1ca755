"""What is special about 3-Augment (the generic suite covers contract, determinism, claims, example)."""

import inspect
from collections import Counter

import numpy as np
import pytest

from encyclo import create, get

three_augment = get("three_augment")
M = inspect.getmodule(three_augment)  # sample_/apply_three_augment, OPS, grayscale, solarize, gaussian_blur


def photo(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def two_colours() -> np.ndarray:
    """16 x 16 RGB: top half (200, 30, 90), bottom half (10, 240, 160); the three ops leave distinct marks."""
    image = np.empty((16, 16, 3), np.uint8)
    image[:8] = (200, 30, 90)
    image[8:] = (10, 240, 160)
    return image


def detected_ops(image: np.ndarray, out: np.ndarray) -> list[str]:
    """Which of the three operations left their mark on ``out`` (two_colours input, no jitter)."""
    found = []
    if (out == out[..., :1]).all():
        found.append("grayscale")  # R = G = B everywhere
    if out[0, 0].tolist() == [55, 30, 90]:
        found.append("solarization")  # 200 -> 255 - 200, 30 and 90 kept
    if not (out == out[..., :1]).all() and out[0, 0].tolist() == image[0, 0].tolist() \
            and out[7, 0].tolist() != image[7, 0].tolist():
        found.append("gaussian_blur")  # flat areas kept, the edge between the halves smoothed
    return found


# ---- claim measures ---------------------------------------------------------------------------------
def operations_drawn() -> list[str]:
    rng = np.random.default_rng(0)
    drawn = {M.sample_three_augment_params(rng).op for _ in range(3000)}
    return [name for name in M.OPS if name in drawn]


def least_frequent_op() -> float:
    rng = np.random.default_rng(1)
    counts = Counter(M.sample_three_augment_params(rng).op for _ in range(12000))
    return round(min(counts[name] for name in M.OPS) / 12000, 4)


def operations_per_image() -> int:
    """Ops detected per augmented image, over 600 draws; -1 unless every image got exactly the same count."""
    image, rng = two_colours(), np.random.default_rng(2)
    counts = set()
    for _ in range(600):
        # sigma >= 1 so that the blur visibly moves the edge pixel (sigma 0.1 leaves uint8 images unchanged)
        out = three_augment(image, rng, color_jitter=0, sigma_range=(1.0, 2.0))
        counts.add(len(detected_ops(image, out)))
    return counts.pop() if len(counts) == 1 else -1


def jitter_strength() -> list[float]:
    rng = np.random.default_rng(3)
    qs = [M.sample_three_augment_params(rng) for _ in range(4000)]
    return [round(max(abs(getattr(q, name) - 1.0) for q in qs), 2) for name in M.JITTER_OPS]


# ---- properties -------------------------------------------------------------------------------------
def test_create_binds_the_deit3_jitter():
    assert three_augment is M.three_augment and create("three_augment").keywords == {"color_jitter": 0.3}
    assert inspect.signature(M.three_augment).parameters["color_jitter"].default == 0.3


def test_exactly_one_op_each_uniformly():
    assert operations_drawn() == ["grayscale", "solarization", "gaussian_blur"]
    assert operations_per_image() == 1
    rng = np.random.default_rng(4)
    counts = Counter(M.sample_three_augment_params(rng).op for _ in range(6000))
    assert all(abs(counts[name] / 6000 - 1 / 3) < 0.025 for name in M.OPS)


def test_blur_sigma_range_and_only_for_blur():
    rng = np.random.default_rng(5)
    qs = [M.sample_three_augment_params(rng) for _ in range(3000)]
    sigmas = np.array([q.sigma for q in qs if q.op == "gaussian_blur"])
    assert 0.1 <= sigmas.min() < 0.15 and 1.95 < sigmas.max() <= 2.0
    assert all(q.sigma is None for q in qs if q.op != "gaussian_blur")


def test_grayscale_is_pil_luma_in_three_channels():
    image = photo()
    grey = M.grayscale(image)
    expected = np.floor(image @ np.array([0.299, 0.587, 0.114]) + 0.5)  # ITU-R 601, as PIL convert("L")
    assert (grey == grey[..., :1]).all() and np.abs(grey[..., 0] - expected).max() <= 1


def test_solarize_inverts_levels_from_128():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    out = M.solarize(levels).ravel().astype(int)
    assert out[:128].tolist() == list(range(128)) and out[128:].tolist() == [255 - i for i in range(128, 256)]
    assert out.max() == 127  # nothing bright survives


def test_blur_keeps_flat_areas_and_smooths_edges():
    image = two_colours()
    out = M.gaussian_blur(image, 2.0)
    assert (out[0, 0] == image[0, 0]).all() and (out[15, 15] == image[15, 15]).all()
    assert 10 < out[7, 0, 0] < 200 and 10 < out[8, 0, 0] < 200
    assert np.array_equal(M.gaussian_blur(image, 0.1), image)  # sigma 0.1: < 1 level anywhere


def test_ops_match_pil_and_torchvision_semantics():
    Image = pytest.importorskip("PIL.Image")
    from PIL import ImageFilter, ImageOps

    image = photo(40, 48, seed=6)
    pil = Image.fromarray(image)
    assert np.array_equal(M.solarize(image), np.asarray(ImageOps.solarize(pil)))
    grey_diff = M.grayscale(image)[..., 0].astype(int) - np.asarray(pil.convert("L"))
    assert np.abs(grey_diff).max() <= 1 and (grey_diff != 0).mean() < 0.01  # fixed-point rounding of the luma
    smooth = np.asarray(Image.fromarray(M.gaussian_blur(image, 3.0)))  # a smoother photo-like image
    for sigma in (0.5, 1.0, 2.0):
        ours = M.gaussian_blur(smooth, sigma).astype(int)
        ref = np.asarray(Image.fromarray(smooth).filter(ImageFilter.GaussianBlur(radius=sigma))).astype(int)
        assert np.abs(ours - ref).mean() < 1.0 and np.abs(ours - ref).max() <= 8  # box-filter approximation


def test_jitter_after_op_in_random_order():
    rng = np.random.default_rng(7)
    qs = [M.sample_three_augment_params(rng) for _ in range(600)]
    assert len({q.jitter_order for q in qs}) == 6  # all 3! orders
    assert jitter_strength() == [0.3, 0.3, 0.3]
    q = M.ThreeAugmentParams(op="grayscale", jitter_order=("brightness", "contrast", "saturation"),
                             brightness=0.5)
    image = photo(seed=8)
    assert np.array_equal(M.apply_three_augment(image, q), M.adjust_brightness(M.grayscale(image), 0.5))
    off = M.sample_three_augment_params(np.random.default_rng(0), color_jitter=0)
    assert off.jitter_order == () and off.brightness == off.contrast == off.saturation == 1.0


def test_params_reproduce_the_output_and_input_untouched():
    image = photo(seed=9)
    before = image.copy()
    a = three_augment(image, np.random.default_rng(10))
    q = M.sample_three_augment_params(np.random.default_rng(10))
    assert np.array_equal(a, M.apply_three_augment(image, q)) and np.array_equal(image, before)
    assert np.array_equal(a, three_augment(image, np.random.default_rng(10)))


def test_grey_input_keeps_one_channel():
    grey = np.random.default_rng(11).integers(0, 256, (12, 10, 1), dtype=np.uint8)
    for op, sigma in (("grayscale", None), ("solarization", None), ("gaussian_blur", 1.5)):
        out = M.apply_three_augment(grey, M.ThreeAugmentParams(op=op, sigma=sigma))
        assert out.shape == grey.shape
    assert np.array_equal(M.apply_three_augment(grey, M.ThreeAugmentParams(op="grayscale")), grey)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(color_jitter=-0.1), dict(color_jitter=float("nan")), dict(sigma_range=(2.0, 0.1)),
    dict(sigma_range=(0.0, 1.0)), dict(sigma_range=(1.0,)), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        three_augment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_bad_params_raise_value_error():
    with pytest.raises(ValueError):
        M.apply_three_augment(photo(), M.ThreeAugmentParams(op="rotate"))
    with pytest.raises(ValueError):
        M.apply_three_augment(photo(), M.ThreeAugmentParams(op="gaussian_blur"))  # no sigma
