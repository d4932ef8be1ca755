"""What is special about Hide-and-Seek (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, entry, get, module, sample_image

hide_and_seek = get("hide_and_seek")
M = inspect.getmodule(hide_and_seek)  # sample_hide_and_seek_params, apply_hide_and_seek, PAPER_GRID_SIZES


def synthetic_dataset(n: int = 64, side: int = 64) -> np.ndarray:
    """(n, side, side, 3) uint8 images of varied brightness and texture."""
    rng = np.random.default_rng(0)
    base = rng.integers(40, 216, (n, 1, 1, 3))
    return np.clip(base + rng.normal(0, 30, (n, side, side, 3)), 0, 255).astype(np.uint8)


def mean_response(images: np.ndarray) -> float:
    """Mean output of a fixed positive 3 x 3 first-layer filter over the images."""
    weight = torch.rand(1, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    return float(torch.nn.functional.conv2d(x, weight).mean())


# ---- claim measures ---------------------------------------------------------------------------------
def default_p_hide() -> float:
    return inspect.signature(hide_and_seek).parameters["p_hide"].default


def drawn_grid_sizes() -> list[int]:
    rng = np.random.default_rng(0)
    return sorted({M.sample_hide_and_seek_params(224, 224, rng).grid_size for _ in range(2000)})


def hidden_fraction_s16() -> float:
    rng = np.random.default_rng(0)
    return float(np.mean([M.sample_hide_and_seek_params(224, 224, rng, grid_sizes=16).hidden_fraction
                          for _ in range(400)]))


def first_layer_mean_response_ratio(fill: str = "dataset") -> float:
    data = synthetic_dataset()
    value = np.rint(data.reshape(-1, 3).mean(0)).astype(int).tolist() if fill == "dataset" else 0
    rng = np.random.default_rng(1)
    hidden = np.stack([hide_and_seek(x, rng, grid_sizes=8, fill=value) for x in data])
    return mean_response(hidden) / mean_response(data)


# ---- properties from the paper ----------------------------------------------------------------------
def test_zero_fill_breaks_the_statistics_the_mean_fill_keeps():
    assert abs(first_layer_mean_response_ratio("dataset") - 1.0) < 0.02
    assert first_layer_mean_response_ratio("zero") < 0.7  # about 1 - p_hide = 0.5: a train/test mismatch


def test_patches_are_aligned_whole_and_filled_with_the_fill():
    image = np.random.default_rng(0).integers(0, 250, (50, 70, 3), dtype=np.uint8)
    params = M.sample_hide_and_seek_params(50, 70, np.random.default_rng(3), grid_sizes=16)
    assert params.hidden.shape == (4, 5)  # ceil(50 / 16), ceil(70 / 16): the last patches are clipped
    out = M.apply_hide_and_seek(image, params, fill=(255, 254, 253))
    mask = params.pixel_mask()
    assert (out[mask] == (255, 254, 253)).all() and np.array_equal(out[~mask], image[~mask])
    for i in range(4):
        for j in range(5):  # every patch is all hidden or all visible
            patch = mask[16 * i:16 * (i + 1), 16 * j:16 * (j + 1)]
            assert patch.all() == params.hidden[i, j] and patch.any() == params.hidden[i, j]


def test_grid_size_zero_hides_nothing_and_p_extremes():
    image = np.full((32, 32, 3), 9, np.uint8)
    assert np.array_equal(hide_and_seek(image, np.random.default_rng(0), grid_sizes=0), image)
    assert np.array_equal(hide_and_seek(image, np.random.default_rng(0), grid_sizes=8, p_hide=0.0), image)
    full = hide_and_seek(image, np.random.default_rng(0), grid_sizes=8, p_hide=1.0, fill=200)
    assert (full == 200).all()


def test_sizes_drawn_uniformly_and_default_fill_is_imagenet_mean():
    rng = np.random.default_rng(0)
    sizes = np.array([M.sample_hide_and_seek_params(224, 224, rng).grid_size for _ in range(5000)])
    counts = np.array([(sizes == s).mean() for s in M.PAPER_GRID_SIZES])
    assert np.abs(counts - 0.2).max() < 0.02
    image = np.zeros((32, 32, 3), np.uint8)
    out = hide_and_seek(image, np.random.default_rng(0), grid_sizes=8, p_hide=1.0)
    assert (out == M.IMAGENET_MEAN_RGB).all()
    assert create("hide_and_seek").keywords == {"p_hide": 0.5}


def test_same_seed_same_output_input_untouched_any_channels():
    image = np.random.default_rng(1).integers(0, 256, (40, 30, 1), dtype=np.uint8)
    before = image.copy()
    a = hide_and_seek(image, np.random.default_rng(5), grid_sizes=(8, 16), fill=0)
    b = hide_and_seek(image, np.random.default_rng(5), grid_sizes=(8, 16), fill=0)
    assert np.array_equal(a, b) and np.array_equal(image, before) and a.shape == (40, 30, 1)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(grid_sizes=-1), dict(grid_sizes=()), dict(grid_sizes=[8, 2.5]),
    dict(p_hide=1.5), dict(p_hide=-0.1), dict(fill=256), dict(fill=(1, 2)), dict(fill="median"),
    dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        hide_and_seek(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    params = M.sample_hide_and_seek_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_hide_and_seek(np.zeros((32, 32, 3), np.uint8), params)


# ---- numpy baseline: `encyclo compare hide_and_seek hide_and_seek@numpy` times it beside the entry -------
def numpy_reference(grid_sizes=(0, 16, 32, 44, 56), p_hide: float = 0.5, fill=(124, 116, 104)):
    """Hide-and-Seek in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The grid size and the hidden flags come from the entry's own sampler (same rng, same draws); every
    hidden S x S patch is overwritten with a slice, looping over the patches as the authors' ``train.lua``.
    """
    sample = module("hide_and_seek").sample_hide_and_seek_params

    def hide_and_seek_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, rng, grid_sizes=grid_sizes, p_hide=p_hide)
        colour = np.rint(image.reshape(-1, c).mean(axis=0)) if isinstance(fill, str) else fill
        out = image.copy()
        s = params.grid_size
        for i, j in zip(*np.nonzero(params.hidden)):  # the hidden patches (none when s == 0)
            out[i * s:(i + 1) * s, j * s:(j + 1) * s] = colour
        return out

    return hide_and_seek_numpy


@pytest.mark.parametrize("overrides", [{}, dict(grid_sizes=16), dict(grid_sizes=(12, 30), fill="mean", p_hide=0.3),
                                       dict(grid_sizes=56, fill=0)])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("hide_and_seek").defaults, **overrides}
    ours, ref = create("hide_and_seek", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                assert np.array_equal(ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed)))
