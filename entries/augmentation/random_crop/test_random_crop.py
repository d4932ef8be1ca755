"""What is special about the pad-and-crop (the generic suite covers contract, determinism, claims)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

random_crop = get("random_crop")
M = inspect.getmodule(random_crop)  # sample_/apply_random_crop, RandomCropParams, PAPER_PADDING, PADDING_MODES


def random_image(h: int = 32, w: int = 32, c: int = 3, seed: int = 0, low: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, 256, (h, w, c), dtype=np.uint8)


def draws(n: int, height: int = 32, width: int = 32, seed: int = 0, **kwargs) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_random_crop_params(height, width, rng, **kwargs) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def padding_per_side() -> int:
    """Widest all-zero border (leading/trailing rows or columns) over 4,000 default crops of a white 32 x 32 image."""
    image = np.full((32, 32, 3), 255, np.uint8)
    rng = np.random.default_rng(0)
    widest = 0
    for _ in range(4000):
        zero = ~random_crop(image, rng).any(axis=2)  # (32, 32) True where padding shows
        rows, cols = zero.all(axis=1), zero.all(axis=0)
        for line in (rows, rows[::-1], cols, cols[::-1]):
            widest = max(widest, int(np.argmin(line)) if not line.all() else len(line))
    return widest


def crop_size_cifar() -> list[int]:
    """(height, width) of a default crop of a 32 x 32 x 3 (CIFAR-sized) image."""
    return list(random_crop(random_image(), np.random.default_rng(0)).shape[:2])


def crop_offset_range() -> list[int]:
    """Smallest and largest top/left offset over 20,000 default draws on 32 x 32."""
    offsets = np.array([q.offset for q in draws(20_000)])
    return [int(offsets.min()), int(offsets.max())]


def crop_offset_frequency_min_max() -> list[float]:
    """Min and max frequency of the 9 offset values of top and of left, over 50,000 default draws (2 decimals)."""
    offsets = np.array([q.offset for q in draws(50_000, seed=1)])
    freq = np.concatenate([np.bincount(offsets[:, axis], minlength=9) for axis in (0, 1)]) / len(offsets)
    return [round(float(freq.min()), 2), round(float(freq.max()), 2)]


def output_is_window_of_padded_image() -> bool:
    """Each of 500 default crops equals the window at its offset of the zero-padded image."""
    rng = np.random.default_rng(2)
    for i in range(500):
        image = random_image(seed=i)
        q = M.sample_random_crop_params(32, 32, rng)
        padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))  # zeros, 40 x 40
        top, left = q.offset
        if not np.array_equal(M.apply_random_crop(image, q), padded[top:top + 32, left:left + 32]):
            return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_function_and_create_binds_padding():
    assert random_crop is M.random_crop
    assert create("random_crop").keywords == {"padding": 4} and M.PAPER_PADDING == 4
    assert inspect.signature(M.random_crop).parameters["flip"].default is False


def test_claims_by_hand():
    assert padding_per_side() == 4
    assert crop_size_cifar() == [32, 32]
    assert crop_offset_range() == [0, 8]
    assert crop_offset_frequency_min_max() == [0.11, 0.11]
    assert output_is_window_of_padded_image()


def test_extreme_offsets_show_the_padding():
    image = np.full((32, 32, 3), 200, np.uint8)
    corner = M.apply_random_crop(image, M.RandomCropParams(offset=(0, 0), padding=4, size=(32, 32), output_size=(32, 32)))
    assert (corner[:4] == 0).all() and (corner[:, :4] == 0).all() and (corner[4:, 4:] == 200).all()
    other = M.apply_random_crop(image, M.RandomCropParams(offset=(8, 8), padding=4, size=(32, 32), output_size=(32, 32)))
    assert (other[-4:] == 0).all() and (other[:, -4:] == 0).all() and (other[:28, :28] == 200).all()
    centre = M.RandomCropParams(offset=(4, 4), padding=4, size=(32, 32), output_size=(32, 32))
    assert centre.shift == (0, 0) and np.array_equal(M.apply_random_crop(image, centre), image)


def test_shift_moves_content_by_padding_minus_offset():
    image = random_image(20, 24, 3, low=1)
    q = M.RandomCropParams(offset=(1, 7), padding=4, size=(20, 24), output_size=(20, 24))
    out = M.apply_random_crop(image, q)
    dy, dx = q.shift  # (3, -3)
    assert np.array_equal(out[dy:, :dx], image[:20 - dy, -dx:])


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_every_padding_mode_equals_cropping_np_pad(mode):
    image = random_image(9, 13, 3)
    rng = np.random.default_rng(3)
    kwargs = {"constant_values": 7} if mode == "constant" else {}
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)), mode=mode, **kwargs)
    for q in [M.sample_random_crop_params(9, 13, rng, size=(6, 11)) for _ in range(60)] + [
            M.sample_random_crop_params(9, 13, rng) for _ in range(60)]:
        top, left = q.offset
        (h, w) = q.output_size
        got = M.apply_random_crop(image, q, padding_mode=mode, fill=7)
        assert np.array_equal(got, padded[top:top + h, left:left + w])


def test_flip_option_is_the_horizontal_flip_of_the_padded_image():
    image = random_image()
    qs = draws(4000, flip=True, seed=4)
    assert abs(np.mean([q.flipped for q in qs]) - 0.5) < 0.03 and not any(q.flipped for q in draws(200))
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    for q in qs[:50]:
        top, left = q.offset
        out = M.apply_random_crop(image, q)
        if q.flipped:  # the crop of the flipped padded image at the mirrored offset 8 - left
            mirrored = padded[:, ::-1]
            assert np.array_equal(out, mirrored[top:top + 32, 8 - left:8 - left + 32])
        else:
            assert np.array_equal(out, padded[top:top + 32, left:left + 32])


def test_other_output_sizes_and_no_padding():
    image = random_image(40, 50, 3)
    assert random_crop(image, np.random.default_rng(0), size=24, padding=0).shape == (24, 24, 3)
    assert random_crop(image, np.random.default_rng(0), size=(48, 58)).shape == (48, 58, 3)
    assert np.array_equal(random_crop(image, np.random.default_rng(0), padding=0), image)  # one possible window
    for q in draws(500, 40, 50, size=(30, 20), padding=2):
        assert 0 <= q.offset[0] <= 44 - 30 and 0 <= q.offset[1] <= 54 - 20


def test_windows_smaller_than_the_padding_may_lie_wholly_in_it():
    # A 2 x 3 window of the 40 x 40 padded image can miss the 32 x 32 image entirely: it is then all fill.
    image = random_image(32, 32, 3, low=1)
    padded = np.zeros((40, 40, 3), np.uint8)
    padded[4:36, 4:36] = image
    outside = 0
    for seed in range(300):
        q = M.sample_random_crop_params(32, 32, np.random.default_rng(seed), size=(2, 3))
        out = random_crop(image, np.random.default_rng(seed), size=(2, 3))
        top, left = q.offset
        assert np.array_equal(out, padded[top:top + 2, left:left + 3])
        outside += not out.any()
    assert outside > 0  # some windows did lie wholly in the padding

def test_params_sampled_separately_reproduce_the_output_and_input_untouched():
    image = random_image(32, 32, 3)
    before = image.copy()
    a = random_crop(image, np.random.default_rng(5), flip=True)
    q = M.sample_random_crop_params(32, 32, np.random.default_rng(5), flip=True)
    assert np.array_equal(a, M.apply_random_crop(image, q)) and np.array_equal(image, before)
    assert a.flags["C_CONTIGUOUS"] and a is not image


@pytest.mark.parametrize("channels", [1, 4, 6])
def test_any_channel_count_and_per_channel_fill(channels):
    image = random_image(10, 10, channels, low=1)
    fill = tuple(range(1, channels + 1))
    q = M.RandomCropParams(offset=(0, 0), padding=3, size=(10, 10), output_size=(10, 10))
    out = M.apply_random_crop(image, q, fill=fill)
    assert out.shape == (10, 10, channels) and (out[0] == np.array(fill, np.uint8)).all()


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(padding=-1), dict(padding=2.0), dict(size=0),
    dict(size=(41, 10)), dict(size="32"), dict(padding_mode="wrap"), dict(fill=256), dict(fill=(1, 2)),
    dict(flip=1), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        random_crop(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_reflect_needs_padding_below_the_image_size_and_foreign_params_are_rejected():
    with pytest.raises(ValueError):
        random_crop(np.zeros((3, 3, 3), np.uint8), np.random.default_rng(0), padding_mode="reflect")
    q = M.sample_random_crop_params(32, 32, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_random_crop(np.zeros((16, 16, 3), np.uint8), q)
    with pytest.raises(ValueError):  # a hand-made window outside the padded image
        M.apply_random_crop(np.zeros((8, 8, 3), np.uint8),
                            M.RandomCropParams(offset=(5, 0), padding=2, size=(8, 8), output_size=(8, 8)))


# ---- numpy baseline: `encyclo compare random_crop random_crop@numpy` times it beside the entry -----------
def numpy_reference(size=None, padding: int = 4, padding_mode: str = "constant", fill=0, flip: bool = False):
    """Pad-and-crop in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The offsets come from the entry's own sampler (same rng, same draws); the whole image is padded with
    ``np.pad`` (constant padding: a canvas of ``fill`` with the image pasted in), then the window is sliced.
    """
    sample = module("random_crop").sample_random_crop_params

    def random_crop_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, rng, size=size, padding=padding, flip=flip)
        if padding_mode == "constant":
            padded = np.empty((h + 2 * padding, w + 2 * padding, c), np.uint8)
            padded[:] = fill
            padded[padding:padding + h, padding:padding + w] = image
        else:
            padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)), mode=padding_mode)
        (top, left), (out_h, out_w) = params.offset, params.output_size
        out = padded[top:top + out_h, left:left + out_w]
        return (out[:, ::-1] if params.flipped else out).copy()

    return random_crop_numpy


@pytest.mark.parametrize("overrides", [{}, dict(size=24, padding=8, fill=(9, 8, 7), flip=True),
                                       dict(size=(20, 28), padding=6, padding_mode="reflect", flip=True),
                                       dict(padding_mode="edge"), dict(padding=3, padding_mode="symmetric")])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("random_crop").defaults, **overrides}
    ours, ref = create("random_crop", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                assert np.array_equal(ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed)))
