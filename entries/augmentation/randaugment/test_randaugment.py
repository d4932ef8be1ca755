"""What is special about RandAugment (the generic suite covers contract, determinism, claims, example)."""

import inspect
from collections.abc import Callable

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

randaugment = get("randaugment")
M = inspect.getmodule(randaugment)  # sample_/apply_randaugment, OPS, op_argument, the operations


def photo(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---- claim measures ---------------------------------------------------------------------------------
def operations_drawn() -> list[str]:
    rng = np.random.default_rng(0)
    drawn = {op.name for _ in range(3000) for op in M.sample_randaugment_params(32, 32, rng).ops}
    return [name for name in M.OPS if name in drawn]


def uniform_op_probability() -> float:
    rng = np.random.default_rng(1)
    names = [op.name for _ in range(7000) for op in M.sample_randaugment_params(32, 32, rng, 2, 9).ops]
    counts = np.array([names.count(n) for n in M.OPS]) / len(names)
    return round(float(counts.mean()), 4) if counts.min() > 0.06 and counts.max() < 0.08 else -1.0


def max_level() -> float:
    return next(m for m in range(31) if M.op_argument("Rotate", m, 224, 224) >= 30.0)


def magnitude_sweep_max() -> int:
    accepted = []
    for m in range(0, 41):
        try:
            M.sample_randaugment_params(8, 8, np.random.default_rng(0), 1, m)
            accepted.append(m)
        except ValueError:
            pass
    return max(accepted)


def default_num_ops_and_magnitude() -> list[int]:
    defaults = inspect.signature(M.randaugment).parameters
    return [defaults["num_ops"].default, defaults["magnitude"].default]


# ---- properties -------------------------------------------------------------------------------------
def test_defaults_and_create():
    assert create("randaugment").keywords == {"num_ops": 2, "magnitude": 9}
    assert default_num_ops_and_magnitude() == [2, 9] and len(M.OPS) == 14


def test_magnitude_maps_onto_autoaugment_ranges():
    arg = M.op_argument
    assert arg("Rotate", 10, 64, 64) == 30.0 and arg("ShearX", 10, 64, 64) == pytest.approx(0.3)
    assert arg("Posterize", 10, 64, 64) == 4 and arg("Solarize", 10, 64, 64) == 0
    assert arg("Contrast", 10, 64, 64) == pytest.approx(1.9) and arg("Contrast", 0, 64, 64) == pytest.approx(0.1)
    assert arg("TranslateY", 10, 331, 100) == 150
    assert arg("Rotate", 9, 64, 64) == 27.0  # ImageNet ResNet-50, M = 9
    assert arg("Rotate", 30, 64, 64) == 90.0  # beyond 10: extrapolated, as the authors' code
    assert arg("Posterize", 30, 64, 64) == 1 and arg("Solarize", 30, 64, 64) == 0  # clipped to the domain
    assert arg("Rotate", 9, 64, 64, max_level=30) == pytest.approx(9.0)  # torchvision's 31-bin scale


def test_magnitude_zero_is_identity_where_it_should_be():
    image = photo()
    q = M.RandAugmentParams(ops=tuple(M.OpCall(n, M.op_argument(n, 0, 32, 32)) for n in
                                      ("Identity", "Rotate", "Solarize", "Posterize", "ShearX", "ShearY",
                                       "TranslateX", "TranslateY")), magnitude=0, size=(32, 32))
    assert np.array_equal(M.apply_randaugment(image, q), image)
    for name in ("Color", "Contrast", "Brightness", "Sharpness"):  # factor 1.0 at M = 5 is the identity
        assert M.op_argument(name, 5, 32, 32) == pytest.approx(1.0)
        assert np.array_equal(M.OPS[name][0](image, M.op_argument(name, 5, 32, 32)), image), name


def test_operations_against_hand_computed_results():
    image = photo(12, 12)
    assert np.array_equal(M.rotate(image, 90.0), np.rot90(image))
    assert np.array_equal(M.solarize(image, 26), np.where(image >= 26, 255 - image, image))
    assert np.array_equal(M.posterize(image, 5), image & 0b11111000)
    grey = M.color(image, 0.0)
    assert (grey == grey[..., :1]).all()


def test_n_operations_with_replacement_and_random_signs():
    rng = np.random.default_rng(2)
    qs = [M.sample_randaugment_params(32, 32, rng, num_ops=3, magnitude=9) for _ in range(3000)]
    assert all(len(q.ops) == 3 for q in qs)
    assert any(q.ops[0].name == q.ops[1].name == q.ops[2].name for q in qs)  # with replacement
    angles = {op.value for q in qs for op in q.ops if op.name == "Rotate"}
    assert angles == {27.0, -27.0}
    factors = {op.value for q in qs for op in q.ops if op.name == "Brightness"}
    assert factors == {1.72}  # enhancement factors are unsigned (authors' code)
    assert M.sample_randaugment_params(32, 32, rng, num_ops=0).ops == ()


def test_sampled_params_reproduce_the_output_and_input_untouched():
    image = photo(40, 30, seed=4)
    before = image.copy()
    for seed in range(20):
        out = randaugment(image, np.random.default_rng(seed), num_ops=3, magnitude=14)
        q = M.sample_randaugment_params(40, 30, np.random.default_rng(seed), 3, 14)
        assert np.array_equal(out, M.apply_randaugment(image, q))
        assert np.array_equal(out, randaugment(image, np.random.default_rng(seed), num_ops=3, magnitude=14))
    assert np.array_equal(image, before)


def test_grey_images_work():
    grey = photo()[..., :1]
    assert randaugment(grey, np.random.default_rng(0), num_ops=4).shape == (32, 32, 1)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(num_ops=-1), dict(num_ops=1.5), dict(magnitude=31), dict(magnitude=-1), dict(magnitude="9"),
    dict(max_level=0), dict(fill=300), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        randaugment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_randaugment_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_randaugment(photo(), q)


# ---- numpy baseline: `encyclo compare randaugment randaugment@numpy` times it beside the entry ---------
def numpy_reference(num_ops: int = 2, magnitude: float = 9, max_level: float = 10,
                    fill: int | tuple[int, ...] = 128):
    """RandAugment in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The operations and their signed arguments come from the entry's own sampler (same rng, same draws);
    each of the 14 operations is then written with numpy only, with PIL's semantics as the entry documents:

    - geometric (Rotate, ShearX/Y, TranslateX/Y): PIL's affine transform with nearest sampling. Output
      pixel (x, y) reads input ``floor(A @ (x + 0.5, y + 0.5, 1))`` (pixel centres, then the pixel the point
      falls in), a gather by index arrays, the fill colour outside. Shear is ``(1, v, 0, 0, 1, 0)`` /
      ``(1, 0, 0, v, 1, 0)``, translate ``(1, 0, v, 0, 1, 0)`` / ``(1, 0, 0, 0, 1, v)``, rotate turns
      counter-clockwise about the continuous point (W/2, H/2), which is pixel ((W - 1)/2, (H - 1)/2);
    - AutoContrast, Equalize, Solarize: a 256-entry lookup table per channel (PIL's autocontrast table in
      float64 truncated, PIL's equalize table from np.bincount/cumsum);
    - Posterize: a bit mask;
    - Color, Contrast, Brightness, Sharpness: PIL's ``Image.blend`` in float32, truncated, against the
      PIL luma ``(19595 R + 38470 G + 7471 B + 2^15) >> 16``, its rounded mean, black, and PIL's SMOOTH
      filter (3 x 3, centre 5 of 13, as shifted-slice sums, rounded; one-pixel border kept).

    Where it differs from the entry: the entry warps with OpenCV's ``warpAffine``, which computes the
    sampling point in float32 (nudged by one ulp so that exact ties go up, as here), so a point within
    float32 rounding of a pixel edge can land in the neighbouring pixel (here float64; Pillow's own fixed
    point differs from both on ~0.1 % of the pixels of a rotation).
    """
    sample = module("randaugment").sample_randaugment_params

    def fill_colour(channels: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(fill, np.uint8).reshape(-1), (channels,))

    def affine(image: np.ndarray, a: tuple[float, ...]) -> np.ndarray:
        """PIL ``transform(AFFINE, a, NEAREST, fillcolor=fill)``: (x, y) reads floor(A (x + .5, y + .5, 1))."""
        h, w = image.shape[:2]
        xc, yc = np.arange(w) + 0.5, (np.arange(h) + 0.5)[:, None]  # pixel centres, (W,) and (H, 1)
        col = np.floor(a[0] * xc + a[1] * yc + a[2]).astype(np.intp)  # (H, W) source column
        row = np.floor(a[3] * xc + a[4] * yc + a[5]).astype(np.intp)  # (H, W) source row
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        out = image[np.clip(row, 0, h - 1), np.clip(col, 0, w - 1)]
        out[~inside] = fill_colour(image.shape[2])
        return out

    def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
        # Inverse map (output -> input) of a counter-clockwise turn on screen (y down) about (W/2, H/2).
        h, w = image.shape[:2]
        cx, cy = w / 2, h / 2
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return affine(image, (c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy))

    def lut_per_channel(image: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
        return np.stack([tables[ch][image[..., ch]] for ch in range(image.shape[2])], axis=2)

    def auto_contrast(image: np.ndarray) -> np.ndarray:
        tables = []
        for ch in range(image.shape[2]):
            lo, hi = int(image[..., ch].min()), int(image[..., ch].max())
            if hi <= lo:  # constant channel: unchanged
                tables.append(np.arange(256, dtype=np.uint8))
                continue
            scale = 255.0 / (hi - lo)  # PIL: int(ix * scale + offset), clipped to 0..255
            tables.append(np.clip(np.arange(256) * scale - lo * scale, 0, 255).astype(np.uint8))
        return lut_per_channel(image, tables)

    def equalize(image: np.ndarray) -> np.ndarray:
        tables = []
        for ch in range(image.shape[2]):
            hist = np.bincount(image[..., ch].ravel(), minlength=256)
            step = (hist.sum() - hist[np.flatnonzero(hist)[-1]]) // 255  # PIL: all but the last used bin
            if step == 0:
                tables.append(np.arange(256, dtype=np.uint8))
                continue
            before = np.cumsum(hist) - hist  # pixels below each level
            tables.append(np.minimum((before + step // 2) // step, 255).astype(np.uint8))
        return lut_per_channel(image, tables)

    def solarize(image: np.ndarray, threshold: float) -> np.ndarray:
        levels = np.arange(256)
        return np.where(levels >= threshold, 255 - levels, levels).astype(np.uint8)[image]

    def posterize(image: np.ndarray, bits: float) -> np.ndarray:
        return image & np.uint8((0xFF << (8 - int(bits))) & 0xFF)

    def luma(image: np.ndarray) -> np.ndarray:  # (H, W, 1) uint8, PIL convert("L")
        if image.shape[2] == 1:
            return image
        r, g, b = (image[..., ch].astype(np.uint32) for ch in range(3))
        return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)[..., None]

    def blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
        # PIL Image.blend: float32 in1 + alpha * (in2 - in1), truncated towards zero, clipped to 0..255.
        base = np.asarray(degenerate, np.float32)
        out = base + np.float32(factor) * (image.astype(np.float32) - base)
        return np.clip(np.trunc(out), 0, 255).astype(np.uint8)

    def smooth(image: np.ndarray) -> np.ndarray:
        # PIL ImageFilter.SMOOTH: 3 x 3 weights 1 around a centre 5, / 13, rounded (13 is odd: no ties).
        # The one-pixel border is not filtered and keeps its values, as PIL.
        x = image.astype(np.int32)
        total = 4 * x[1:-1, 1:-1]  # centre weight 5 = 4 here + 1 in the 3 x 3 box sum below
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                total = total + x[dy:dy + x.shape[0] - 2, dx:dx + x.shape[1] - 2]
        out = image.copy()
        out[1:-1, 1:-1] = (total + 6) // 13
        return out

    ops: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
        "Identity": lambda x, v: x.copy(),
        "AutoContrast": lambda x, v: auto_contrast(x),
        "Equalize": lambda x, v: equalize(x),
        "Rotate": rotate,
        "Solarize": solarize,
        "Color": lambda x, v: blend(luma(x), x, v),
        "Posterize": posterize,
        "Contrast": lambda x, v: blend(np.float32(int(luma(x).mean() + 0.5)), x, v),
        "Brightness": lambda x, v: blend(np.float32(0), x, v),
        "Sharpness": lambda x, v: blend(smooth(x), x, v),
        "ShearX": lambda x, v: affine(x, (1.0, v, 0.0, 0.0, 1.0, 0.0)),
        "ShearY": lambda x, v: affine(x, (1.0, 0.0, 0.0, v, 1.0, 0.0)),
        "TranslateX": lambda x, v: affine(x, (1.0, 0.0, v, 0.0, 1.0, 0.0)),
        "TranslateY": lambda x, v: affine(x, (1.0, 0.0, 0.0, 0.0, 1.0, v)),
    }

    def randaugment_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng, num_ops, magnitude, max_level)
        out = image.copy()
        for op in params.ops:  # N operations in sequence, not a loop over pixels
            out = ops[op.name](out, op.value)
        return out

    return randaugment_numpy


GEOMETRIC_OPS = {"Rotate", "ShearX", "ShearY", "TranslateX", "TranslateY"}


@pytest.mark.parametrize("overrides", [{}, dict(num_ops=4, magnitude=14, fill=0),
                                       dict(num_ops=3, max_level=30, fill=(0, 64, 255)),
                                       dict(num_ops=3, magnitude=20, max_level=30), dict(magnitude=28, max_level=30)])
def test_numpy_reference_gives_the_same_output(overrides):
    # Identical unless a warp was drawn (the test redraws the ops to know): OpenCV's warpAffine computes the
    # sampling point in float32, so a point within float32 rounding of a pixel edge can take the
    # neighbouring pixel (~0.01 % of the pixels per warp), and a moved pixel can shift a later Equalize /
    # Contrast table by a level. Bound: <= 1 % of the pixels differ. Exact ties are no exception: M = 20
    # and 28 put whole rows of shear samples on pixel edges (0.6 = 3/5, 0.84 = 21/25), and a 90-degree
    # turn of an odd H - W image every sample; the entry nudges its warps so that ties go up, as here.
    config = {**entry("randaugment").defaults, **overrides}
    ours, ref = create("randaugment", **overrides), numpy_reference(**config)
    drawn: set[str] = set()
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        crop = photo[:45, :71]  # small, odd-sized
        grey = [np.ascontiguousarray(crop[..., :1])] if np.ndim(config.get("fill", 128)) == 0 else []
        for image in [photo, crop, *grey]:
            for seed in range(10):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                q = M.sample_randaugment_params(*image.shape[:2], np.random.default_rng(seed), config["num_ops"],
                                                config["magnitude"], config.get("max_level", M.MAX_LEVEL))
                ops = {op.name for op in q.ops}
                drawn |= ops
                diff = np.abs(a - b).max(axis=2)  # per pixel, over the channels
                where = (name, image.shape, seed, [op.name for op in q.ops])
                assert a.shape == b.shape == image.shape, where
                if ops & GEOMETRIC_OPS:
                    assert (diff > 0).mean() <= 0.01, where
                else:
                    assert not diff.any(), where
    if config["num_ops"] >= 3:
        assert drawn == set(M.OPS)  # these 10 seeds exercise every one of the 14 operations
