"""What is special about GridMask (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

gridmask = get("gridmask")
M = inspect.getmodule(gridmask)  # sample_gridmask_params, apply_gridmask, GridMaskParams, keep_ratio


def params(d, ratio, offset=(0, 0), angle=0, size=(400, 400)):
    return M.GridMaskParams(d=d, offset=offset, angle=angle, ratio=ratio, size=size)


# ---- claim measures ---------------------------------------------------------------------------------
def imagenet_hyperparameters() -> list[float]:
    defaults = inspect.signature(gridmask).parameters
    return [defaults[k].default for k in ("d_min", "d_max", "ratio", "rotate", "p")]


def unit_keep_ratio_r06() -> float:
    rng = np.random.default_rng(0)
    return float(np.mean([params(100, 0.6, tuple(int(v) for v in rng.integers(0, 100, 2))).keep_fraction
                          for _ in range(20)]))


def mean_keep_ratio_imagenet() -> float:
    rng = np.random.default_rng(0)
    return float(np.mean([M.sample_gridmask_params(224, 224, rng, p=1.0).keep_fraction for _ in range(1000)]))


# ---- properties from the paper ----------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [0.2, 0.4, 0.5, 0.6, 0.8])
def test_keep_ratio_is_one_minus_one_minus_r_squared(ratio):
    assert params(50, ratio).keep_fraction == pytest.approx(M.keep_ratio(ratio), abs=1e-12)


def test_removed_regions_are_squares_of_side_d_minus_l_on_a_period_d_lattice():
    p = params(50, 0.6, offset=(7, 13), size=(200, 200))
    removed = ~p.keep_mask()
    rows, cols = removed.any(axis=1), removed.any(axis=0)
    assert rows.sum() == cols.sum() == 4 * 20  # 4 units per axis, (1 - r) d = 20 removed rows/cols each
    assert (removed == (rows[:, None] & cols[None, :])).all()  # a product of row and column sets: squares
    first = np.flatnonzero(np.diff(rows.astype(int)) == 1)[0] + 1
    assert (first - 7) % 50 == 30  # each square starts l = r d = 30 pixels after the unit's origin delta_y


def test_offsets_shift_the_grid_and_are_below_d():
    a, b = params(40, 0.5, (0, 0), size=(160, 160)), params(40, 0.5, (5, 9), size=(160, 160))
    assert np.array_equal(np.roll(a.keep_mask(), (5, 9), axis=(0, 1)), b.keep_mask())
    rng = np.random.default_rng(0)
    for _ in range(200):
        q = M.sample_gridmask_params(224, 224, rng, p=1.0)
        assert 96 <= q.d < 224 and 0 <= min(q.offset) and max(q.offset) < q.d and 0 <= q.angle < 360


def test_rotation_keeps_the_ratio_and_leaves_no_empty_corners():
    square = params(50, 0.6, size=(200, 200))
    for angle in (15, 45, 90, 200):
        rotated = params(50, 0.6, angle=angle, size=(200, 200))
        assert abs(rotated.keep_fraction - square.keep_fraction) < 0.03


def test_removed_pixels_get_the_fill_the_rest_is_untouched():
    image = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    p = M.sample_gridmask_params(96, 128, np.random.default_rng(1), d_min=20, d_max=40, p=1.0)
    out = M.apply_gridmask(image, p)
    keep = p.keep_mask()
    assert np.array_equal(out[keep], image[keep]) and (out[~keep] == M.IMAGENET_MEAN_RGB).all()
    assert (~keep).any()


def test_probability_and_ramp():
    rng = np.random.default_rng(0)
    applied = np.mean([M.sample_gridmask_params(64, 64, rng, d_min=8, d_max=32).applied for _ in range(4000)])
    assert abs(applied - 0.8) < 0.03
    image = np.full((32, 32, 3), 7, np.uint8)
    assert np.array_equal(gridmask(image, np.random.default_rng(0), d_min=4, d_max=8, p=0.0), image)
    assert M.linear_ramp_p(0, 240) == 0.0 and M.linear_ramp_p(240, 240) == pytest.approx(0.8)
    assert create("gridmask").keywords == {"d_min": 96, "d_max": 224, "ratio": 0.6, "rotate": 360, "p": 0.8}


def test_same_seed_same_output_input_untouched_non_square():
    image = np.random.default_rng(1).integers(0, 256, (50, 90, 1), dtype=np.uint8)
    before = image.copy()
    a = gridmask(image, np.random.default_rng(4), d_min=10, d_max=30, p=1.0, fill=0)
    b = gridmask(image, np.random.default_rng(4), d_min=10, d_max=30, p=1.0, fill=0)
    assert np.array_equal(a, b) and np.array_equal(image, before) and a.shape == image.shape


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(d_min=0), dict(d_min=50, d_max=50), dict(d_max=2.5),
    dict(ratio=1.5), dict(ratio=-0.1), dict(rotate=0), dict(p=1.5), dict(fill=300), dict(fill="median"),
    dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0), p=1.0)
    kwargs.update(bad)
    with pytest.raises(ValueError):
        gridmask(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


# ---- numpy baseline: `encyclo compare gridmask gridmask@numpy` times it beside the entry ----------------
def numpy_reference(d_min: int = 96, d_max: int = 224, ratio: float = 0.6, rotate: int = 360, p: float = 0.8,
                    fill=(124, 116, 104)):
    """GridMask in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    d, the offsets, the angle and the coin come from the entry's own sampler (same rng, same draws). Each
    output pixel is mapped back through the rotation about the centre of the authors' 1.5x canvas,
    rounded to the nearest canvas pixel (0 = kept outside the canvas), and tested against the grid with
    modulo arithmetic; removed pixels get ``fill``.
    """
    sample = module("gridmask").sample_gridmask_params

    def gridmask_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, rng, d_min=d_min, d_max=d_max, ratio=ratio, rotate=rotate, p=p)
        if not params.applied:
            return image.copy()
        hh, ww = int(1.5 * h), int(1.5 * w)  # the canvas
        cy, cx = (hh - 1) / 2, (ww - 1) / 2
        y = np.arange(h)[:, None] + (hh - h) // 2 - cy  # canvas coordinates of the output pixels, centred
        x = np.arange(w)[None, :] + (ww - w) // 2 - cx
        cos, sin = np.cos(np.deg2rad(params.angle)), np.sin(np.deg2rad(params.angle))
        src_y = np.floor(sin * x + cos * y + cy + 0.5).astype(int)  # inverse rotation, nearest pixel: (H, W)
        src_x = np.floor(cos * x - sin * y + cx + 0.5).astype(int)
        inside = (src_y >= 0) & (src_y < hh) & (src_x >= 0) & (src_x < ww)
        band = int(params.d * ratio + 0.5)
        dy, dx = params.offset
        removed = inside & ((src_y - dy) % params.d >= band) & ((src_x - dx) % params.d >= band)
        colour = np.rint(image.reshape(-1, c).mean(axis=0)) if isinstance(fill, str) else np.asarray(fill)
        return np.where(removed[:, :, None], colour, image).astype(np.uint8)

    return gridmask_numpy


@pytest.mark.parametrize("overrides", [{}, dict(rotate=1), dict(d_min=20, d_max=60, ratio=0.4, p=1.0, fill="mean")])
def test_numpy_reference_gives_the_same_output(overrides):
    # Equal but for a few pixels on the squares' edges when the mask is rotated: OpenCV's warpAffine maps
    # coordinates in 10-bit fixed point, so a source coordinate within ~1/1000 of a half pixel can round to
    # the other neighbour. Without rotation (rotate=1) the outputs are identical.
    config = {**entry("gridmask").defaults, **overrides}
    ours, ref = create("gridmask", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                a, b = ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed))
                differ = (a != b).any(axis=2).mean()
                assert a.shape == b.shape and differ <= (0 if config["rotate"] == 1 else 0.002), differ
