"""What is special about GridMask (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, get

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
