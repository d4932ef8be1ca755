"""What is special about AugMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from encyclo import create, entry, get, module, sample_image

augmix = get("augmix")
M = inspect.getmodule(augmix)  # OPS, sample_augmix_params, apply_chain, mix_float, apply_augmix, jsd_loss


def photo(h=48, w=64):
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (h + w)], axis=2) + rng.integers(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def sampled_chains(n=1000):
    rng = np.random.default_rng(0)
    return [c for _ in range(n) for c in M.sample_augmix_params(32, 32, rng).chains]


# ---- claim measures ---------------------------------------------------------------------------------
def drawn_operations() -> list[str]:
    seen = {name for chain in sampled_chains() for name, _ in chain}
    return [name for name in M.OPS if name in seen]


def default_hyperparameters() -> list[float]:
    defaults = inspect.signature(augmix).parameters
    return [defaults[k].default for k in ("severity", "mixture_width", "depth", "alpha")]


def chain_depth_range() -> list[int]:
    depths = [len(chain) for chain in sampled_chains()]
    return [min(depths), max(depths)]


def output_is_convex_combination() -> bool:
    image, rng = photo(), np.random.default_rng(3)
    for _ in range(20):
        params = M.sample_augmix_params(*image.shape[:2], rng)
        chains = np.stack([M.apply_chain(image, c) for c in params.chains]).astype(np.float64)
        rebuilt = (1 - params.m) * image + params.m * np.tensordot(params.weights, chains, axes=1)
        out = M.apply_augmix(image, params)
        ok = (abs(sum(params.weights) - 1) < 1e-5 and min(params.weights) >= 0 and 0 <= params.m <= 1
              and np.abs(out - rebuilt).max() <= 0.5 + 1e-3)
        if not ok:
            return False
    return True


# ---- the operations reproduce PIL (the authors' library) --------------------------------------------
def test_lookup_table_ops_match_pil_exactly():
    Image = pytest.importorskip("PIL.Image")
    ImageOps = pytest.importorskip("PIL.ImageOps")
    image = photo()
    image[..., 1] = image[..., 1] // 3 + 50  # a channel that does not span [0, 255]
    pil = Image.fromarray(image)
    assert np.array_equal(M.autocontrast(image), np.asarray(ImageOps.autocontrast(pil)))
    assert np.array_equal(M.equalize(image), np.asarray(ImageOps.equalize(pil)))
    for bits in (1, 3, 4):
        assert np.array_equal(M.posterize(image, bits), np.asarray(ImageOps.posterize(pil, bits)))
    for threshold in (0, 128, 231, 256):
        assert np.array_equal(M.solarize(image, threshold), np.asarray(ImageOps.solarize(pil, threshold)))


@pytest.mark.parametrize("name,value", [("rotate", 7.0), ("rotate", -9.0), ("shear_x", 0.21), ("shear_y", -0.15),
                                        ("translate_x", 5.0), ("translate_y", -4.0)])
def test_geometric_ops_match_pil_to_one_level(name, value):
    Image = pytest.importorskip("PIL.Image")
    image = photo()
    pil, (h, w) = Image.fromarray(image), image.shape[:2]
    coeffs = {"shear_x": (1, value, 0, 0, 1, 0), "shear_y": (1, 0, 0, value, 1, 0),
              "translate_x": (1, 0, value, 0, 1, 0), "translate_y": (1, 0, 0, 0, 1, value)}
    ref = (pil.rotate(value, resample=Image.BILINEAR) if name == "rotate"
           else pil.transform((w, h), Image.AFFINE, coeffs[name], resample=Image.BILINEAR))
    diff = np.abs(M.apply_chain(image, ((name, value),)).astype(int) - np.asarray(ref).astype(int))
    assert diff.max() <= 1  # cv2's 5-bit bilinear weights against PIL's floating point


# ---- properties from the paper ----------------------------------------------------------------------
def test_magnitudes_at_severity_3_follow_the_code():
    values = {}
    for chain in sampled_chains():
        for name, value in chain:
            values.setdefault(name, set()).add(value)
    assert values["posterize"] <= {3.0, 4.0} and min(values["solarize"]) >= 256 - 76 and max(values["solarize"]) <= 256
    assert max(abs(v) for v in values["rotate"]) <= 8 and max(abs(v) for v in values["shear_x"]) <= 0.09
    assert max(abs(v) for v in values["translate_x"]) <= int(3 * (32 / 3) / 10)
    assert values["autocontrast"] == {0.0}


def test_weights_are_dirichlet_and_m_is_beta_1_1():
    rng = np.random.default_rng(0)
    draws = [M.sample_augmix_params(8, 8, rng) for _ in range(3000)]
    w = np.array([d.weights for d in draws])
    m = np.array([d.m for d in draws])
    assert np.allclose(w.sum(1), 1, atol=1e-5) and abs(w.mean() - 1 / 3) < 0.01
    assert abs(m.mean() - 0.5) < 0.02 and abs(m.var() - 1 / 12) < 0.01  # Beta(1, 1) = U(0, 1)


def test_m_zero_is_the_original_and_m_one_is_the_chain_mixture():
    image = photo()
    chains = ((("solarize", 128.0),), (("posterize", 2.0),))
    assert np.array_equal(M.apply_augmix(image, M.AugMixParams((0.5, 0.5), 0.0, chains, image.shape[:2])), image)
    one = M.mix_float(image, M.AugMixParams((1.0, 0.0), 1.0, chains, image.shape[:2]))
    assert np.array_equal(one, M.solarize(image, 128).astype(np.float32))


def test_same_seed_same_output_input_untouched_and_create():
    image = photo(30, 20)[:, :, :1]
    before = image.copy()
    a, b = augmix(image, np.random.default_rng(2)), augmix(image, np.random.default_rng(2))
    assert np.array_equal(a, b) and np.array_equal(image, before) and a.shape == (30, 20, 1)
    five = np.concatenate([photo(), photo()[..., :2]], axis=2)  # more channels than cv2 warps at once
    assert augmix(five, np.random.default_rng(0)).shape == five.shape
    assert create("augmix").keywords == {"severity": 3, "mixture_width": 3, "depth": -1, "alpha": 1.0}


# ---- the Jensen-Shannon consistency loss (Sec. 3) ---------------------------------------------------
def test_jsd_loss_matches_the_definition_and_bounds():
    torch.manual_seed(0)
    z = [torch.randn(5, 7) for _ in range(3)]
    p = [torch.softmax(t.double(), 1) for t in z]
    mix = sum(p) / 3
    reference = sum((q * (q.log() - mix.log())).sum(1).mean() for q in p) / 3
    assert torch.allclose(M.jsd_loss(*z).double(), reference, atol=1e-5)
    assert float(M.jsd_loss(z[0], z[0], z[0])) < 1e-6
    peaked = torch.eye(3) * 50  # three confident, disagreeing predictions: JS -> log 3
    assert abs(float(M.jsd_loss(peaked[[0]], peaked[[1]], peaked[[2]])) - np.log(3)) < 1e-3


def test_jsd_loss_has_gradients_and_rejects_bad_shapes():
    z = [torch.randn(4, 10, requires_grad=True) for _ in range(3)]
    M.jsd_loss(*z).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in z)
    with pytest.raises(ValueError):
        M.jsd_loss(torch.randn(4, 10), torch.randn(4, 9), torch.randn(4, 10))
    with pytest.raises(ValueError):
        M.jsd_loss(torch.randn(10), torch.randn(10), torch.randn(10))


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(severity=0), dict(severity=11), dict(mixture_width=0),
    dict(depth=0), dict(depth=-2), dict(alpha=0.0), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        augmix(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


# ---- numpy baseline: `encyclo compare augmix augmix@numpy` times it beside the entry ------------------
def numpy_reference(severity: float = 3, mixture_width: int = 3, depth: int = -1,
                    alpha: float = 1.0) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """AugMix in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The mixing weights, m and the chains come from the entry's own sampler (same rng, same draws). The
    operations follow PIL as the entry documents them. autocontrast (from each channel's min and max) and
    equalize (from each channel's np.bincount histogram) build PIL's per-channel 256-entry tables and look
    them up; posterize masks the low bits and solarize inverts the values at or above the threshold.
    rotate and shear map every output pixel centre ``(x + .5, y + .5)`` through PIL's affine
    coefficients, give 0 to the pixels whose point falls outside ``[0, W) x [0, H)``, and blend the four
    neighbours of the others (edge pixels replicated) in float32, rounded half up like the entry's
    ``cv2.warpAffine`` (PIL itself truncates). translate moves by whole pixels, so it is a slice copy
    into a black image (what the affine map gives then).
    The chains are mixed in float32 as ``(1 - m) x + m sum_i w_i chain_i`` and rounded to uint8.

    Where it differs from the entry: the bilinear weights here are exact floats, the entry's cv2 uses
    1/32-pixel coordinates and 15-bit weights, so a rotated or sheared pixel can be one level apart,
    and a later table operation of the same chain (solarize, posterize, equalize) can turn that level
    into a larger step at the few pixels that sit on its threshold.
    """
    sample = module("augmix").sample_augmix_params

    def histograms(image: np.ndarray) -> np.ndarray:
        """(C, 256) pixel counts, one histogram per channel, in one np.bincount."""
        channels = image.shape[2]
        offsets = np.arange(channels, dtype=np.uint16) * 256  # channel c counts into bins c*256 ...
        return np.bincount((image + offsets).ravel(), minlength=256 * channels).reshape(channels, 256)

    def lookup(image: np.ndarray, tables: np.ndarray) -> np.ndarray:
        """Per-channel table lookup; ``tables`` is (C, 256) uint8."""
        offsets = np.arange(image.shape[2], dtype=np.intp) * 256
        return np.take(tables.ravel(), image + offsets)

    def autocontrast(image: np.ndarray) -> np.ndarray:
        # PIL: scale = 255 / (hi - lo), table[i] = int(i * scale - lo * scale) clipped to [0, 255],
        # a channel with hi <= lo is left as is. Min and max reduce over rows first (contiguous, fast).
        height, width, channels = image.shape
        rows = image.reshape(height, width * channels)
        lo = rows.min(axis=0).reshape(width, channels).min(axis=0).astype(np.float64)[:, None]  # (C, 1)
        hi = rows.max(axis=0).reshape(width, channels).max(axis=0).astype(np.float64)[:, None]
        scale = 255.0 / np.maximum(hi - lo, 1.0)
        stretched = np.clip(np.trunc(np.arange(256) * scale - lo * scale), 0, 255)
        return lookup(image, np.where(hi > lo, stretched, np.arange(256)).astype(np.uint8))

    def equalize(image: np.ndarray) -> np.ndarray:
        # PIL: step = (pixels - count of the highest level present) // 255; table[i] = (step // 2 +
        # pixels below level i) // step, clipped to 255; a channel with step 0 is left as is.
        hist = histograms(image)
        channels = hist.shape[0]
        top = 255 - np.argmax(hist[:, ::-1] > 0, axis=1)  # the highest level present, per channel
        step = (image.shape[0] * image.shape[1] - hist[np.arange(channels), top]) // 255
        below = np.cumsum(hist, axis=1) - hist  # pixels strictly below each level
        tables = np.minimum((step[:, None] // 2 + below) // np.maximum(step, 1)[:, None], 255)
        return lookup(image, np.where(step[:, None] > 0, tables, np.arange(256)).astype(np.uint8))

    def posterize(image: np.ndarray, bits: float) -> np.ndarray:
        return image & np.uint8((0xFF << (8 - int(bits))) & 0xFF)  # keep the `bits` most significant bits

    def solarize(image: np.ndarray, threshold: float) -> np.ndarray:
        return np.where(image < int(threshold), image, 255 - image)

    def affine(image: np.ndarray, a: float, b: float, c: float, d: float, e: float, f: float) -> np.ndarray:
        """PIL ``transform(AFFINE, (a, b, c, d, e, f), BILINEAR)``, rounded to the nearest level."""
        height, width, channels = image.shape
        xs, ys = np.arange(width) + 0.5, np.arange(height)[:, None] + 0.5  # output pixel centres
        x_in, y_in = a * xs + b * ys + c, d * xs + e * ys + f  # (H, W): PIL's sample points, float64
        keep = np.flatnonzero((x_in >= 0) & (x_in < width) & (y_in >= 0) & (y_in < height))  # others stay 0
        x, y = x_in.ravel()[keep] - 0.5, y_in.ravel()[keep] - 0.5  # index space: pixel i is centred at i
        x0, y0 = np.floor(x), np.floor(y)
        # One weight per value (repeated over the channels), so every product below is elementwise.
        fx, fy = (np.repeat((v - v0).astype(np.float32), channels) for v, v0 in ((x, x0), (y, y0)))
        x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
        xa, xb = np.clip(x0, 0, width - 1), np.clip(x0 + 1, 0, width - 1)  # the edge pixels replicated
        ya, yb = np.clip(y0, 0, height - 1) * width, np.clip(y0 + 1, 0, height - 1) * width
        pixels = image.reshape(-1, channels)

        def tap(row: np.ndarray, col: np.ndarray) -> np.ndarray:  # one neighbour of every kept pixel, flat
            return np.take(pixels, row + col, axis=0).ravel().astype(np.float32)

        p00, p01, p10, p11 = tap(ya, xa), tap(ya, xb), tap(yb, xa), tap(yb, xb)
        upper, lower = p00 + (p01 - p00) * fx, p10 + (p11 - p10) * fx
        out = np.zeros_like(pixels)
        out[keep] = np.floor(upper + (lower - upper) * fy + 0.5).reshape(-1, channels)  # round half up, as cv2
        return out.reshape(image.shape)

    def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
        # PIL Image.rotate: counter-clockwise about (W/2, H/2); its matrix, rounded to 15 decimals as PIL does.
        height, width = image.shape[:2]
        angle = -math.radians(degrees)
        cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
        cx, cy = width / 2.0, height / 2.0
        return affine(image, cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy)

    def translate(image: np.ndarray, pixels: float, axis: int) -> np.ndarray:
        # The affine map x_in = x + t with whole t: output[i] = input[i + t] where 0 <= i + t < size, else 0.
        t, size = int(pixels), image.shape[axis]
        out = np.zeros_like(image)
        if abs(t) < size:
            src = [slice(None)] * 2
            dst = [slice(None)] * 2
            src[axis], dst[axis] = slice(max(t, 0), size + min(t, 0)), slice(max(-t, 0), size - max(t, 0))
            out[tuple(dst)] = image[tuple(src)]
        return out

    ops = {
        "autocontrast": lambda x, _: autocontrast(x), "equalize": lambda x, _: equalize(x),
        "posterize": posterize, "solarize": solarize, "rotate": rotate,
        "shear_x": lambda x, s: affine(x, 1.0, s, 0.0, 0.0, 1.0, 0.0),
        "shear_y": lambda x, s: affine(x, 1.0, 0.0, 0.0, s, 1.0, 0.0),
        "translate_x": lambda x, t: translate(x, t, axis=1), "translate_y": lambda x, t: translate(x, t, axis=0),
    }

    def augmix_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(image.shape[0], image.shape[1], rng, severity=severity, mixture_width=mixture_width,
                        depth=depth, alpha=alpha)
        mix = np.zeros(image.shape, np.float32)
        for weight, chain in zip(params.weights, params.chains):  # the k chains, not pixels
            out = image
            for name, value in chain:
                out = ops[name](out, value)
            mix += np.float32(weight) * out
        blended = (1 - np.float32(params.m)) * image + np.float32(params.m) * mix
        return np.clip(np.rint(blended), 0, 255).astype(np.uint8)

    return augmix_numpy


@pytest.mark.parametrize("overrides", [{}, dict(severity=10), dict(severity=1, mixture_width=1, depth=1),
                                       dict(mixture_width=5, depth=3, alpha=0.5)])
def test_numpy_reference_gives_the_same_output(overrides):
    # Equal whenever no chain rotates or shears: the table operations, the whole-pixel translations and
    # the float32 mixing are the same arithmetic. A rotation or shear is bilinear, and the entry's
    # cv2.warpAffine snaps the sample point to 1/32 pixel and blends with 15-bit fixed-point weights,
    # so a warped value can be one level off the float blend here; the mixture (weights < 1) mostly
    # absorbs that, and a later solarize, posterize or equalize of the same chain can turn it into a big
    # step only at the few pixels sitting on its threshold. Bound: under 0.5 % of the values differ and
    # under 0.1 % by more than one level (worst seen over 1,440 draws of these settings on three photos
    # and three sizes: 0.12 % and 0.011 %).
    config = {**entry("augmix").defaults, **overrides}
    ours, ref = create("augmix", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(4):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                params = M.sample_augmix_params(*image.shape[:2], np.random.default_rng(seed), **config)
                warped = any(op in ("rotate", "shear_x", "shear_y") for chain in params.chains for op, _ in chain)
                diff = np.abs(a - b)
                assert a.shape == b.shape
                if not warped:
                    assert diff.max() == 0
                else:
                    assert (diff > 0).mean() < 0.005 and (diff > 1).mean() < 0.001
