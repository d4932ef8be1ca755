"""What is special about TrivialAugment (the generic suite covers contract, determinism, claims, example)."""

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

trivialaugment = get("trivialaugment")
M = inspect.getmodule(trivialaugment)  # sample_/apply_trivialaugment, OPS, op_argument, the operations


def photo(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def draws(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_trivialaugment_params(32, 32, rng) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def operations_per_image() -> int:
    """Each draw applies one operation: applying it equals applying that single operation of OPS."""
    image = photo(16, 16)
    counts = []
    for q in (M.sample_trivialaugment_params(16, 16, np.random.default_rng(s)) for s in range(2000)):
        single = M.OPS[q.name][0](image, q.value, (0, 0, 0))
        counts.append(len(q.ops) if np.array_equal(M.apply_trivialaugment(image, q), single) else -1)
    return max(counts) if min(counts) > 0 else -1


def num_strengths() -> int:
    return len({q.strength for q in draws(5000, seed=1)})


def operations_drawn() -> list[str]:
    drawn = {q.name for q in draws(3000, seed=2)}
    return [name for name in M.OPS if name in drawn]


def wide_range_ends() -> list[float]:
    top = {}
    for q in draws(20000, seed=3):
        if q.strength == M.MAX_STRENGTH:
            top[q.name] = abs(q.value)
    return [top[n] for n in ("Rotate", "ShearX", "TranslateX", "Posterize", "Solarize", "Color")]


# ---- properties -------------------------------------------------------------------------------------
def test_create_and_defaults():
    assert create("trivialaugment").keywords == {"fill": 0} and len(M.OPS) == 14


def test_uniform_operation_and_strength():
    qs = draws(28000, seed=4)
    names = np.array([q.name for q in qs])
    freq = np.array([np.mean(names == n) for n in M.OPS])
    assert np.abs(freq - 1 / 14).max() < 0.01
    strengths = np.bincount([q.strength for q in qs], minlength=31) / len(qs)
    assert len(strengths) == 31 and np.abs(strengths - 1 / 31).max() < 0.008
    signs = {np.sign(q.value) for q in qs if q.name == "Rotate" and q.strength > 0}
    assert signs == {-1.0, 1.0}


def test_strength_mapping_matches_the_authors_code():
    arg = M.op_argument
    assert arg("Solarize", 1) == 256 - int(256 / 30) and arg("Posterize", 15) == 8 - int(15 * 6 / 30)
    assert arg("Rotate", 7) == int(7 * 135 / 30) and arg("TranslateX", 29) == int(29 * 32 / 30)
    assert arg("Contrast", 15) == pytest.approx(0.01 + 15 * 1.99 / 30)
    assert arg("ShearY", 10) == pytest.approx(0.33)


def test_strength_zero_is_identity_where_it_should_be():
    image = photo()
    for name in ("Identity", "Rotate", "Solarize", "Posterize", "ShearX", "ShearY", "TranslateX", "TranslateY"):
        q = M.TrivialAugmentParams(name=name, strength=0, value=M.op_argument(name, 0), size=(32, 32))
        assert np.array_equal(M.apply_trivialaugment(image, q), image), name
    assert np.array_equal(M.brightness(image, 1.0), image) and np.array_equal(M.sharpness(image, 1.0), image)


def test_operations_against_hand_computed_results():
    image = photo(10, 10)
    assert np.array_equal(M.rotate(image, 90.0), np.rot90(image))
    assert np.array_equal(M.rotate(image, 180.0), np.rot90(image, 2))
    assert np.array_equal(M.posterize(image, 2), image & 0b11000000)
    assert np.array_equal(M.solarize(image, 0), 255 - image)
    shifted = M.translate_y(image, -3.0, (9, 9, 9))  # content moves down by 3
    assert np.array_equal(shifted[3:], image[:-3]) and (shifted[:3] == 9).all()


def test_sampled_params_reproduce_the_output_and_input_untouched():
    image = photo(40, 30, seed=5)
    before = image.copy()
    for seed in range(30):
        out = trivialaugment(image, np.random.default_rng(seed))
        q = M.sample_trivialaugment_params(40, 30, np.random.default_rng(seed))
        assert np.array_equal(out, M.apply_trivialaugment(image, q))
        assert np.array_equal(out, trivialaugment(image, np.random.default_rng(seed)))
    assert np.array_equal(image, before)


def test_grey_images_work():
    grey = photo()[..., :1]
    for seed in range(20):
        assert trivialaugment(grey, np.random.default_rng(seed)).shape == (32, 32, 1)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(fill=-1), dict(fill=(1, 2)), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        trivialaugment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_trivialaugment_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_trivialaugment(photo(), q)


# ---- numpy baseline: `encyclo compare trivialaugment trivialaugment@numpy` times it beside the entry ----
GEOMETRIC_OPS = ("Rotate", "ShearX", "ShearY", "TranslateX", "TranslateY")


def source_coordinates(name: str, value: float, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): where each output pixel of a geometric operation samples the input, in pixel indices.

    PIL maps every output pixel centre through the affine matrix and takes the input pixel the point falls
    in; in pixel indices that is the nearest index with ties rounded up, ``floor(coordinate + 0.5)``.
    """
    y, x = np.arange(height, dtype=np.float64)[:, None], np.arange(width, dtype=np.float64)[None, :]
    if name == "ShearX":  # PIL (1, v, 0, 0, 1, 0) on the centre (x + 0.5, y + 0.5)
        rows, cols = y, x + value * (y + 0.5)
    elif name == "ShearY":  # PIL (1, 0, 0, v, 1, 0)
        rows, cols = y + value * (x + 0.5), x
    elif name == "TranslateX":  # PIL (1, 0, v, 0, 1, 0): content moves left for v > 0
        rows, cols = y, x + value
    elif name == "TranslateY":
        rows, cols = y + value, x
    elif name == "Rotate":
        # Counter-clockwise about pixel ((W - 1) / 2, (H - 1) / 2), PIL's centre (W / 2, H / 2) in pixel-centre
        # coordinates. cos and sin are rounded to 15 decimals as PIL's Image.rotate does, so that a quarter
        # turn gives exact coordinates instead of ones 6e-17 off a rounding tie.
        theta = math.radians(value)
        c, s = round(math.cos(theta), 15), round(math.sin(theta), 15)
        dy, dx = y - (height - 1) / 2, x - (width - 1) / 2
        rows, cols = s * dx + c * dy + (height - 1) / 2, c * dx - s * dy + (width - 1) / 2
    else:
        raise ValueError(f"{name} is not a geometric operation")
    rows, cols = np.broadcast_arrays(rows, cols)
    return rows, cols


def numpy_reference(fill: int | Sequence[int] = 0) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """TrivialAugment (wide) in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The operation, strength and sign come from the entry's own sampler (same rng, same draws); the one
    drawn operation is then written out in numpy with PIL's semantics, as the entry documents them:

    - Rotate, ShearX/Y, TranslateX/Y: each output pixel's source index from the affine map
      (:func:`source_coordinates`), rounded to the nearest pixel with ties up (PIL's floor of the
      pixel-centre coordinate), gathered with ``np.take``; sources outside the image take ``fill``.
    - AutoContrast: PIL's per-channel table ``int(i * scale + offset)`` in float64, ``scale = 255 / (hi - lo)``.
    - Equalize: PIL's table from ``np.bincount``/``np.cumsum``, ``step = (pixels - last bin) // 255``.
    - Solarize and Posterize: a lookup table and a bit mask.
    - Color, Contrast, Brightness, Sharpness: PIL's ``Image.blend`` in float32 with truncation, against
      the integer BT.601 grey, its rounded mean, black, or PIL's SMOOTH filter (3 x 3, centre 5 of 13,
      as a sum of shifted slices, rounded; the one-pixel border kept).

    Where it differs from the entry (see :func:`assert_same_output`): the entry warps with OpenCV, which
    computes the source coordinates in float32 (nudged by one ulp so that exact ties go up, as here), so
    rotate and shear may take the other neighbour where a source coordinate lies within float32 rounding
    of a half-way point: a few pixels at most.
    """
    sample = module("trivialaugment").sample_trivialaugment_params

    def per_channel(image: np.ndarray, tables: np.ndarray) -> np.ndarray:  # tables (C, 256) uint8
        return tables[np.arange(image.shape[2]), image]

    def warp(image: np.ndarray, name: str, value: float) -> np.ndarray:
        h, w, c = image.shape
        src_rows, src_cols = source_coordinates(name, value, h, w)
        rows, cols = np.floor(src_rows + 0.5).astype(np.intp), np.floor(src_cols + 0.5).astype(np.intp)
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        # Gather from the flattened pixels with the fill colour appended as pixel H * W, which every source
        # outside the image points to.
        pixels = np.concatenate([image.reshape(h * w, c), np.broadcast_to(np.asarray(fill, np.uint8), (1, c))])
        return np.take(pixels, np.where(inside, rows * w + cols, h * w), axis=0)

    def auto_contrast(image: np.ndarray) -> np.ndarray:
        levels = np.arange(256, dtype=np.float64)
        tables = []
        for lo, hi in zip(image.min(axis=(0, 1)).tolist(), image.max(axis=(0, 1)).tolist()):
            if hi <= lo:  # constant channel: unchanged
                tables.append(levels)
                continue
            scale = 255.0 / (hi - lo)
            tables.append(np.trunc(levels * scale + -lo * scale))  # PIL: int(ix * scale + offset)
        return per_channel(image, np.clip(tables, 0, 255).astype(np.uint8))

    def equalize(image: np.ndarray) -> np.ndarray:
        tables = []
        for channel in np.moveaxis(image, 2, 0):
            hist = np.bincount(channel.ravel(), minlength=256)
            used = hist[hist > 0]
            step = (used.sum() - used[-1]) // 255  # all pixels but those of the last non-empty bin
            if step == 0:  # a (nearly) constant channel: unchanged
                tables.append(np.arange(256))
                continue
            # PIL: level i maps to (step // 2 + pixels below i) // step; levels above the last used one
            # can exceed 255 but no pixel reads them.
            tables.append((step // 2 + np.cumsum(hist) - hist) // step)
        return per_channel(image, np.clip(tables, 0, 255).astype(np.uint8))

    def solarize(image: np.ndarray, threshold: float) -> np.ndarray:
        levels = np.arange(256)
        return np.where(levels < threshold, levels, 255 - levels).astype(np.uint8)[image]

    def posterize(image: np.ndarray, bits: float) -> np.ndarray:
        return image & np.uint8(0xFF << (8 - int(bits)) & 0xFF)

    def grey(image: np.ndarray) -> np.ndarray:  # (H, W, 1) uint8, PIL's convert("L")
        if image.shape[2] == 1:
            return image
        r, g, b = (image[..., i].astype(np.uint32) for i in range(3))
        return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)[..., None]

    def blend(degenerate: np.ndarray | np.float32, image: np.ndarray, factor: float) -> np.ndarray:
        # PIL's Image.blend in C float arithmetic: degenerate + factor * (image - degenerate), truncated.
        base = np.asarray(degenerate, np.float32)
        out = base + np.float32(factor) * (image.astype(np.float32) - base)
        return np.clip(np.trunc(out), 0, 255).astype(np.uint8)

    def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
        h, w = image.shape[:2]
        wide = image.astype(np.int32)
        total = 4 * wide[1:-1, 1:-1]  # centre weight 5 = 4 + the 1 of the 3 x 3 box below
        for dy in range(3):
            for dx in range(3):
                total = total + wide[dy:dy + h - 2, dx:dx + w - 2]
        smooth = image.copy()  # PIL's filter keeps the one-pixel border
        smooth[1:-1, 1:-1] = (total + 6) // 13  # total / 13 rounded: k / 13 is never exactly half-way
        return blend(smooth, image, factor)

    ops: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
        "Identity": lambda x, v: x.copy(),
        "AutoContrast": lambda x, v: auto_contrast(x),
        "Equalize": lambda x, v: equalize(x),
        "Solarize": solarize,
        "Posterize": posterize,
        "Color": lambda x, v: blend(grey(x), x, v),
        "Contrast": lambda x, v: blend(np.float32(int(grey(x).mean() + 0.5)), x, v),
        "Brightness": lambda x, v: blend(np.float32(0), x, v),
        "Sharpness": sharpness,
        **{name: (lambda x, v, name=name: warp(x, name, v)) for name in GEOMETRIC_OPS},
    }

    def trivialaugment_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng)
        return ops[params.name](image, params.value)

    return trivialaugment_numpy


def seed_drawing(height: int, width: int, wanted: Callable[["M.TrivialAugmentParams"], bool]) -> int:
    """The first seed whose draw for an H x W image satisfies ``wanted``."""
    return next(s for s in range(10_000)
                if wanted(M.sample_trivialaugment_params(height, width, np.random.default_rng(s))))


def quarter_turn_on_odd_shape(q: "M.TrivialAugmentParams") -> bool:
    """A rotation by +-90 degrees (strength 20) of an image whose H - W is odd: every source coordinate of
    the turn lies exactly half-way between two pixels."""
    return q.name == "Rotate" and abs(q.value) == 90 and (q.size[0] - q.size[1]) % 2 == 1


def assert_same_output(a: np.ndarray, b: np.ndarray, q: "M.TrivialAugmentParams") -> None:
    """The entry's output ``a`` equals the baseline's ``b`` for draw ``q``, up to the bounds explained below.

    Exactly equal for every operation but the three warps whose sources are not whole pixels. Rotate and
    ShearX/Y: OpenCV's nearest-neighbour warp computes the source coordinates in float32 (the entry nudges
    them by one ulp so exact ties go up, as PIL and the baseline do), the baseline in float64; they may
    pick different neighbours only where the source coordinate is within 1/1024 of a pixel of half-way
    between two pixels: checked pixel by pixel, and at most 1 % of the image.
    """
    a, b = a.astype(int), b.astype(int)
    assert a.shape == b.shape, q
    if q.name in ("Rotate", "ShearX", "ShearY"):
        differ = (a != b).any(axis=2)
        rows, cols = source_coordinates(q.name, q.value, *q.size)
        off_tie = np.minimum(np.abs(rows % 1 - 0.5), np.abs(cols % 1 - 0.5))  # 0: half-way between two pixels
        assert differ.mean() <= 0.01 and (off_tie[differ] <= 1 / 1024).all(), q
    else:
        assert np.array_equal(a, b), q


@pytest.mark.parametrize("overrides", [{}, dict(fill=128), dict(fill=(255, 0, 64))])
def test_numpy_reference_gives_the_same_output(overrides):
    config = {**entry("trivialaugment").defaults, **overrides}
    ours, ref = create("trivialaugment", **overrides), numpy_reference(**config)
    photos = [sample_image("astronaut"), sample_image("chelsea")]
    images = [image for p in photos for image in (p, p[:45, :70])]  # the photos and small odd-sized crops
    if np.ndim(config["fill"]) == 0:
        images.append(photos[1][:45, :70, :1])  # a grey crop, for the single-channel paths
    drawn = set()
    for image in images:
        for seed in range(60):
            q = M.sample_trivialaugment_params(image.shape[0], image.shape[1], np.random.default_rng(seed))
            drawn.add(q.name)
            a, b = ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed))
            assert_same_output(a, b, q)
    assert drawn == set(M.OPS)  # the seeds reach every operation


def test_numpy_reference_warps_at_every_strength():
    # 60 seeds draw few rotations; here every strength and sign of the three warps whose source
    # coordinates are not whole pixels, on the photo and an odd-sized crop.
    wanted = 3 * (1 + 2 * M.MAX_STRENGTH)  # strength 0 once (-0.0 == 0.0), the others with either sign
    seeds: dict[tuple[str, float], int] = {}
    for seed in range(20_000):
        q = M.sample_trivialaugment_params(1, 1, np.random.default_rng(seed))  # the draw ignores the size
        if q.name in ("Rotate", "ShearX", "ShearY"):
            seeds.setdefault((q.name, q.value), seed)
            if len(seeds) == wanted:
                break
    assert len(seeds) == wanted
    ours, ref = create("trivialaugment"), numpy_reference()
    photo = sample_image("chelsea")
    for image in (photo, photo[:45, :70]):
        for seed in seeds.values():
            q = M.sample_trivialaugment_params(image.shape[0], image.shape[1], np.random.default_rng(seed))
            a, b = ours(image, np.random.default_rng(seed)), ref(image, np.random.default_rng(seed))
            assert_same_output(a, b, q)


def test_numpy_reference_quarter_turn_on_odd_shape():
    # Rotate at strength 20 is +-90 degrees. On an image with odd H - W (the 45 x 70 crop, the 256 x 385
    # chelsea photo) every source coordinate is half-way between two pixels. PIL and the baseline take the
    # same side everywhere (a clean quarter turn, half a pixel off centre). OpenCV alone rounds these ties
    # to even, which duplicated every other row and column (about 45 % of the pixels differed) until the
    # entry nudged its warps' source coordinates up by one float32 ulp.
    image = sample_image("chelsea")[:45, :70]
    seed = seed_drawing(45, 70, quarter_turn_on_odd_shape)
    a = create("trivialaugment")(image, np.random.default_rng(seed))
    b = numpy_reference()(image, np.random.default_rng(seed))
    assert np.array_equal(a, b)


def test_numpy_reference_autocontrast_table():
    # A channel with levels 0..7: PIL's table (the baseline) maps 7 to int(7 * 255 / 7) = 255; a float32
    # 7 * float32(255 / 7) is 254.99998, truncated to 254 (the entry's table was float32 until it took PIL's).
    image = np.repeat(np.arange(8, dtype=np.uint8), 3).reshape(1, 8, 3)
    seed = seed_drawing(1, 8, lambda q: q.name == "AutoContrast")
    a = create("trivialaugment")(image, np.random.default_rng(seed))
    b = numpy_reference()(image, np.random.default_rng(seed))
    assert b[0, -1].tolist() == [255, 255, 255] and np.array_equal(a, b)
