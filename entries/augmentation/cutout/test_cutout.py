"""What is special about Cutout (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

cutout = get("cutout")
M = inspect.getmodule(cutout)  # the implementation module: sample_cutout_params, apply_cutout, PAPER_PATCH_SIZES


def white(h=32, w=32, c=3):
    return np.full((h, w, c), 255, np.uint8)


def masked(out: np.ndarray, fill: int = 0) -> np.ndarray:
    """(H, W) bool: the pixels the patch wrote (on an image that has no pixel of value ``fill``)."""
    return (out == fill).all(axis=2)


# ---- claim measures ---------------------------------------------------------------------------------
def paper_patch_sides() -> list[int]:
    """Side of the square the code masks on a 32 x 32 image with each dataset's paper length."""
    sides = []
    for dataset in ("cifar10", "cifar100", "svhn"):
        size = M.PAPER_PATCH_SIZES[dataset]
        params = M.CutoutParams(center=(16, 16), box=M.patch_box((16, 16), size, 32, 32), size=(32, 32))
        mask = masked(M.apply_cutout(white(), params))
        rows, cols = np.nonzero(mask)
        height, width = int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1
        sides.append(height if height == width and mask.sum() == height * width else -1)  # -1: not a square
    return sides


def occluded_fraction_centred_cifar10() -> float:
    """Fraction of a 32 x 32 image a centred 16 x 16 patch masks (the CIFAR-10 setting)."""
    params = M.CutoutParams(center=(16, 16), box=M.patch_box((16, 16), 16, 32, 32), size=(32, 32))
    return float(masked(M.apply_cutout(white(), params)).mean())


def mean_masked_area_over_all_centres(size: int = 16, side: int = 32) -> float:
    """Average masked area when the centre runs over every pixel, as the authors' sampler draws it."""
    areas = [masked(M.apply_cutout(white(side, side), M.CutoutParams(
        center=(cy, cx), box=M.patch_box((cy, cx), size, side, side), size=(side, side)))).sum()
        for cy in range(side) for cx in range(side)]
    return float(np.mean(areas))


def patch_may_extend_past_border() -> bool:
    """The centre ranges over the whole image, so border patches are clipped: mean area 196 < 256."""
    return mean_masked_area_over_all_centres() < 16 * 16


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_size():
    assert cutout is M.cutout and cutout.__name__ == "cutout"
    assert create("cutout").keywords == {"size": 16}
    assert create("cutout", size=8)(white(), np.random.default_rng(0)).shape == (32, 32, 3)


def test_patch_area_is_exact_when_fully_inside():
    for size in (1, 7, 8, 16, 20):
        params = M.CutoutParams(center=(16, 16), box=M.patch_box((16, 16), size, 32, 32), size=(32, 32))
        mask = masked(M.apply_cutout(white(), params))
        assert mask.sum() == size * size == params.area
        rows, cols = np.nonzero(mask)
        assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size  # a square


def test_patch_is_clipped_near_borders():
    for center, area in [((0, 0), 8 * 8), ((31, 31), 9 * 9), ((0, 16), 8 * 16), ((16, 2), 16 * 10)]:
        params = M.CutoutParams(center=center, box=M.patch_box(center, 16, 32, 32), size=(32, 32))
        assert masked(M.apply_cutout(white(), params)).sum() == area == params.area


def test_mean_masked_area_over_all_centres_is_196():
    # Per axis the clipped length averages (92 + 17 * 16 + 84) / 32 = 14 pixels, so 14 x 14 on average.
    assert mean_masked_area_over_all_centres() == 196.0


def test_centre_is_uniform_over_all_pixels():
    rng = np.random.default_rng(0)
    centres = np.array([M.sample_cutout_params(32, 32, 16, rng).center for _ in range(4000)])
    assert centres.min() == 0 and centres.max() == 31
    counts = np.bincount(centres[:, 0], minlength=32) / 4000
    assert np.abs(counts - 1 / 32).max() < 0.015


def test_same_seed_same_result_and_input_untouched():
    image = np.random.default_rng(1).integers(1, 256, (40, 50, 3), dtype=np.uint8)
    before = image.copy()
    a = cutout(image, np.random.default_rng(3), size=12)
    b = cutout(image, np.random.default_rng(3), size=12)
    assert np.array_equal(a, b) and np.array_equal(image, before)
    assert a is not image and 0 < masked(a).sum() <= 144
    assert np.array_equal(a[~masked(a)], image[~masked(a)])  # only the patch changes


def test_fill_values():
    image = np.random.default_rng(2).integers(1, 255, (32, 32, 3), dtype=np.uint8)
    params = M.CutoutParams(center=(10, 10), box=M.patch_box((10, 10), 8, 32, 32), size=(32, 32))
    y1, y2, x1, x2 = params.box
    cifar_mean = (125, 123, 114)  # the authors' normalisation mean: zero after Normalize
    assert (M.apply_cutout(image, params, fill=cifar_mean)[y1:y2, x1:x2] == cifar_mean).all()
    mean = np.rint(image.reshape(-1, 3).mean(0))
    assert (M.apply_cutout(image, params, fill="mean")[y1:y2, x1:x2] == mean).all()
    assert (M.apply_cutout(image, params, fill=7)[y1:y2, x1:x2] == 7).all()


def test_any_channel_count_and_p():
    grey = np.full((20, 30, 1), 255, np.uint8)
    assert masked(cutout(grey, np.random.default_rng(0), size=6)).sum() > 0
    assert np.array_equal(cutout(white(), np.random.default_rng(0), p=0.0), white())


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)),  # wrong ndim
    dict(image=np.zeros((32, 32, 3), np.float32)),  # wrong dtype
    dict(image=np.zeros((0, 32, 3), np.uint8)),  # empty
    dict(size=0), dict(size=2.5), dict(p=1.5), dict(p=-0.1),
    dict(fill=256), dict(fill=(1, 2)), dict(fill="median"),
    dict(rng=np.random.RandomState(0)),  # the legacy API: pass np.random.default_rng(seed)
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=white(), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        cutout(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    params = M.sample_cutout_params(64, 64, 16, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_cutout(white(), params)


# ---- numpy baseline: `encyclo compare cutout cutout@numpy` times it beside the entry ---------------------
def numpy_reference(size: int = 16, fill=0, p: float = 1.0):
    """Cutout in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The parameters come from the entry's own sampler (same rng, same draws); the patch is clipped with
    ``np.clip`` and written with a slice, as the authors' ``util/cutout.py`` does.
    """
    sample = module("cutout").sample_cutout_params

    def cutout_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, size, rng, p)
        out = image.copy()
        if params.applied:
            cy, cx = params.center
            y1, y2 = np.clip([cy - size // 2, cy - size // 2 + size], 0, h)
            x1, x2 = np.clip([cx - size // 2, cx - size // 2 + size], 0, w)
            colour = np.rint(image.reshape(-1, c).mean(axis=0)) if isinstance(fill, str) else fill
            out[y1:y2, x1:x2] = colour
        return out

    return cutout_numpy


@pytest.mark.parametrize("overrides", [{}, dict(size=40, fill="mean"), dict(size=7, fill=(1, 2, 3), p=0.5)])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("cutout").defaults, **overrides}
    ours, ref = create("cutout", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                assert np.array_equal(ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed)))
