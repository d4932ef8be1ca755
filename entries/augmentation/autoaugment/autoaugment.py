"""AutoAugment, ImageNet policy (Cubuk, Zoph, Mané, Vasudevan, Le: "AutoAugment: Learning Augmentation
Strategies from Data", CVPR 2019, arXiv:1805.09501).

A *policy* is 25 *sub-policies*; each sub-policy is two (operation, probability, magnitude) triples. For
every image one sub-policy is drawn uniformly, and its two operations run in order, each with its own
probability (Sec. 3). Magnitudes are integer levels 0..9 on a scale whose maximum, 10, is the end of
each operation's range (Sec. 3 discretises magnitudes into 10 levels; the ranges are
the paper's appendix list of operations: rotate 30 degrees, shear 0.3, translate 150 px on 331 px ImageNet
images, posterize 4..8 bits, solarize threshold 256..0, colour/contrast/brightness/sharpness 0.1..1.9).

The random parameters are drawn by :func:`sample_autoaugment_params` and applied by the deterministic
:func:`apply_autoaugment`; :func:`autoaugment` does both. All randomness comes from the explicit
``np.random.Generator``. The operations are re-implemented with OpenCV/numpy with PIL's semantics (the
authors used PIL): all match PIL pixel for pixel except rotate, whose nearest-neighbour rounding differs
on a few pixels (see the README).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# ---- the operations (PIL semantics, OpenCV/numpy implementation) ------------------------------------
# Each takes an (H, W, C) uint8 image, the operation's argument and the fill colour of geometric ops,
# and returns a new uint8 array. C is 1 (grey) or 3 (RGB).


def _warp(image: np.ndarray, matrix: np.ndarray, fill: tuple[int, ...], inverse: bool) -> np.ndarray:
    """cv2.warpAffine with nearest-neighbour sampling (PIL's default resample), a constant fill, PIL's ties.

    OpenCV computes each source coordinate in float32 and rounds one exactly half-way between two pixels
    to the even pixel; PIL computes in double and always takes the next one up. Such ties are common: every
    pixel of a quarter turn of an image whose H - W is odd, whole rows of some shears (OpenCV then doubled
    every other row or column). Nudging the inverse map by one float32 ulp of the largest coordinate sends
    every tie up, as PIL does (measured: quarter turns, shears 0.6 and 0.84, half-pixel shifts on images up
    to 4000 px), and moves no other sample by more than that.
    """
    h, w = image.shape[:2]
    source = matrix.astype(np.float64) if inverse else cv2.invertAffineTransform(matrix.astype(np.float64))
    source[:, 2] += max(h, w) * 2.0 ** -23
    out = cv2.warpAffine(image, source, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return out.reshape(image.shape)  # cv2 drops a single channel axis


_LEVELS = np.arange(256, dtype=np.uint8)  # the input of every lookup table below


def _lut(image: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Map every level through a (256,) uint8 table, or a (C, 256) table per channel (cv2.LUT)."""
    if table.ndim == 2 and image.shape[2] > 1:
        table = np.ascontiguousarray(table.T).reshape(1, 256, image.shape[2])
    return cv2.LUT(image, table.reshape(1, 256, -1)).reshape(image.shape)


def identity(image: np.ndarray, value: float = 0.0, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """The image unchanged (a copy)."""
    return image.copy()


def shear_x(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Output pixel (x, y) samples input (x + value * y, y): PIL ``transform(AFFINE, (1, v, 0, 0, 1, 0))``."""
    # + value / 2: PIL samples at pixel centres, so its nearest neighbour is this matrix shifted by half a step
    return _warp(image, np.array([[1.0, value, value / 2], [0.0, 1.0, 0.0]]), fill, inverse=True)


def shear_y(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Output pixel (x, y) samples input (x, y + value * x): PIL ``(1, 0, 0, v, 1, 0)``."""
    return _warp(image, np.array([[1.0, 0.0, 0.0], [value, 1.0, value / 2]]), fill, inverse=True)  # see shear_x


def translate_x(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Output pixel (x, y) samples input (x + value, y) (PIL ``(1, 0, v, 0, 1, 0)``): content moves left."""
    return _warp(image, np.array([[1.0, 0.0, value], [0.0, 1.0, 0.0]]), fill, inverse=True)


def translate_y(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Output pixel (x, y) samples input (x, y + value) (PIL ``(1, 0, 0, 0, 1, v)``): content moves up."""
    return _warp(image, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, value]]), fill, inverse=True)


def rotate(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Rotate by ``value`` degrees counter-clockwise about the image centre (PIL ``Image.rotate``).

    The centre is ((W - 1) / 2, (H - 1) / 2) in pixel indices, so 90 degrees on a square image is exactly
    ``np.rot90``.
    """
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(value), 1.0)
    return _warp(image, matrix, fill, inverse=False)


def auto_contrast(image: np.ndarray, value: float = 0.0, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Stretch each channel so its darkest pixel becomes 0 and its lightest 255 (PIL ``autocontrast``).

    PIL's own table per channel: ``int(i * scale + offset)`` in double, scale = 255 / (hi - lo), offset =
    -lo * scale, clipped to 0..255 (a float32 ``(i - lo) * scale`` lands one level lower on ~25 % of the
    (lo, hi) pairs); a constant channel is left as it is.
    """
    extremes = [cv2.minMaxLoc(channel)[:2] for channel in cv2.split(image)]  # (lo, hi) per channel, fast
    levels = np.arange(256, dtype=np.float64)
    tables = [np.clip((levels * (255.0 / (b - a)) - a * (255.0 / (b - a))).astype(np.int64), 0, 255)
              if b > a else levels for a, b in extremes]
    return _lut(image, np.stack(tables).astype(np.uint8))


def _equalize_lut(channel: np.ndarray) -> np.ndarray:
    """PIL's equalisation lookup table for one uint8 channel (also torchvision's)."""
    hist = np.bincount(channel.ravel(), minlength=256)
    step = (hist.sum() - hist[np.flatnonzero(hist)[-1]]) // 255  # all pixels but the last non-empty bin
    if step == 0:
        return np.arange(256, dtype=np.uint8)  # (nearly) constant channel: unchanged
    return np.clip((np.cumsum(hist) - hist + step // 2) // step, 0, 255).astype(np.uint8)


def equalize(image: np.ndarray, value: float = 0.0, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Histogram-equalise each channel (PIL ``ImageOps.equalize``), through a lookup table per channel.

    PIL's table, not ``cv2.equalizeHist``: OpenCV stretches the cumulative histogram differently and
    differs from PIL by up to ~17 levels.
    """
    channels = [cv2.LUT(image[..., c], _equalize_lut(image[..., c])) for c in range(image.shape[2])]  # C <= 3
    return np.stack(channels, axis=2)


def invert(image: np.ndarray, value: float = 0.0, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """255 - x (PIL ``ImageOps.invert``)."""
    return 255 - image


def solarize(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Invert every pixel at or above the threshold ``value`` (PIL ``ImageOps.solarize``); 256: no change."""
    return _lut(image, np.where(_LEVELS >= value, 255 - _LEVELS, _LEVELS))  # a table, as PIL


def posterize(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Keep the ``value`` most significant bits of every pixel (PIL ``ImageOps.posterize``); 8: no change."""
    bits = int(value)
    mask = np.uint8((0xFF << (8 - bits)) & 0xFF)
    return image & mask


def _grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) uint8 luma as PIL's ``convert("L")``: (19595 R + 38470 G + 7471 B + 2^15) >> 16."""
    if image.shape[2] == 1:
        return image.copy()
    rgb = image.astype(np.uint32)
    luma = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16  # ITU-R 601
    return luma.astype(np.uint8)[..., None]


def _blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    """PIL ``ImageEnhance`` (``Image.blend``): degenerate + factor * (image - degenerate), truncated, clipped."""
    out = degenerate.astype(np.float32) + np.float32(factor) * (image.astype(np.float32) - degenerate)
    return np.clip(np.trunc(out), 0, 255).astype(np.uint8)


def color(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Blend with the grey image (PIL ``ImageEnhance.Color``): 0 grey, 1 unchanged, > 1 more saturated."""
    return _blend(_grey(image), image, value)


def contrast(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Blend with the mean grey level, rounded (PIL ``ImageEnhance.Contrast``): 0 flat grey, 1 unchanged."""
    mean = np.float32(int(_grey(image).mean() + 0.5))
    return _lut(image, _blend(np.full(256, mean, np.float32), _LEVELS, value))  # per level: one table


def brightness(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Blend with black (PIL ``ImageEnhance.Brightness``): x * value."""
    return _lut(image, _blend(np.zeros(256, np.float32), _LEVELS, value))  # per level: one table


SMOOTH_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0  # PIL ImageFilter.SMOOTH


def sharpness(image: np.ndarray, value: float, fill: tuple[int, ...] = (0,)) -> np.ndarray:
    """Blend with a smoothed copy (PIL ``ImageEnhance.Sharpness``): 0 smoothed, 1 unchanged, > 1 sharper.

    The smoothed copy is PIL's SMOOTH filter (3 x 3, centre weight 5 of 13); as in PIL the one-pixel
    border keeps the original values.
    """
    smooth = cv2.filter2D(image, -1, SMOOTH_KERNEL, borderType=cv2.BORDER_REPLICATE).reshape(image.shape)
    smooth[0, :], smooth[-1, :], smooth[:, 0], smooth[:, -1] = image[0, :], image[-1, :], image[:, 0], image[:, -1]
    return _blend(smooth, image, value)


# ---- the operation table (Sec. 3 and the appendix list of operations) -------------------------------
# NAME -> (function, (argument at level 0, argument at level MAX_LEVEL), signed?). A signed argument gets
# a random sign (+/- with probability 1/2), as in the authors' code. Translate is a fraction of the image
# side: 150 px on the 331 px ImageNet images of the paper (torchvision: 150 / 331 * size).
MAX_LEVEL = 10  # Sec. 3: magnitudes are discretised into 10 values; level 10 would be the range's end
NUM_LEVELS = 10  # the levels a policy can use: 0..9
OPS: dict[str, tuple[Callable[..., np.ndarray], tuple[float, float], bool]] = {
    "ShearX": (shear_x, (0.0, 0.3), True),
    "ShearY": (shear_y, (0.0, 0.3), True),
    "TranslateX": (translate_x, (0.0, 150 / 331), True),  # fraction of the width
    "TranslateY": (translate_y, (0.0, 150 / 331), True),  # fraction of the height
    "Rotate": (rotate, (0.0, 30.0), True),  # degrees
    "AutoContrast": (auto_contrast, (0.0, 0.0), False),  # no magnitude
    "Invert": (invert, (0.0, 0.0), False),
    "Equalize": (equalize, (0.0, 0.0), False),
    "Solarize": (solarize, (256.0, 0.0), False),  # threshold: 256 inverts nothing
    "Posterize": (posterize, (8.0, 4.0), False),  # bits kept: 8 is the original
    "Contrast": (contrast, (0.1, 1.9), False),  # enhancement factor, 1.0 = unchanged
    "Color": (color, (0.1, 1.9), False),
    "Brightness": (brightness, (0.1, 1.9), False),
    "Sharpness": (sharpness, (0.1, 1.9), False),
}
INTEGER_OPS = ("Solarize", "Posterize", "TranslateX", "TranslateY")  # int(...) as the authors' int_parameter

# The ImageNet policy: 25 sub-policies of two (operation, probability, level) each (paper appendix, the
# policy found on reduced ImageNet), as transcribed in torchvision's AutoAugment._get_policies(IMAGENET);
# level None marks operations without a magnitude.
POLICY: tuple[tuple[tuple[str, float, int | None], tuple[str, float, int | None]], ...] = (
    (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
    (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
    (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
    (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
    (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
    (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
    (("Invert", 0.6, None), ("Equalize", 1.0, None)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
    (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
    (("Color", 0.4, 0), ("Equalize", 0.6, None)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Invert", 0.6, None), ("Equalize", 1.0, None)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
)


def op_argument(name: str, level: float, height: int, width: int) -> float:
    """The unsigned argument of operation ``name`` at ``level`` (0..MAX_LEVEL) on an H x W image.

    Linear in the level from the range's start to its end at MAX_LEVEL = 10 (the authors'
    ``float_parameter``/``int_parameter``: ``level * maxval / PARAMETER_MAX``); integer arguments are
    truncated like ``int_parameter``.

    Examples:
        >>> op_argument("Rotate", 9, 224, 224), op_argument("Posterize", 8, 224, 224)
        (27.0, 5.0)
    """
    low, high = OPS[name][1]
    if name in ("TranslateX", "TranslateY"):
        side = width if name == "TranslateX" else height
        low, high = low * side, high * side  # fraction of the side -> pixels
    if name in INTEGER_OPS:
        return float(low + math.trunc((high - low) * level / MAX_LEVEL))
    return float(low + (high - low) * level / MAX_LEVEL)


@dataclass(frozen=True)
class OpCall:
    """One operation of a drawn sub-policy.

    Attributes:
        name: the operation's name, a key of ``OPS``.
        level: its magnitude level (0..9; 0 for operations without a magnitude).
        value: its concrete argument, sign included (degrees, pixels, bits, threshold, factor).
        applied: whether its probability draw fired; if not, the operation is skipped.
    """

    name: str
    level: int
    value: float
    applied: bool


@dataclass(frozen=True)
class AutoAugmentParams:
    """The random parameters of one AutoAugment draw.

    Attributes:
        index: which of the 25 sub-policies was drawn.
        ops: its two operations, in order.
        size: (H, W) of the image the parameters were drawn for.
    """

    index: int
    ops: tuple[OpCall, OpCall]
    size: tuple[int, int]


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")


def sample_autoaugment_params(height: int, width: int, rng: np.random.Generator) -> AutoAugmentParams:
    """Draw a sub-policy uniformly, then for each of its two operations whether it fires and its sign.

    Args:
        height: H of the image.
        width: W of the image (translate arguments are fractions of the side).
        rng: the explicit numpy random generator.

    Returns:
        An :class:`AutoAugmentParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_autoaugment_params(224, 224, np.random.default_rng(0))
        >>> 0 <= params.index < 25 and len(params.ops) == 2
        True
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_rng(rng)
    index = int(rng.integers(len(POLICY)))  # Sec. 3: one sub-policy drawn uniformly per image
    draws = rng.random(2)  # each operation fires with its own probability
    signs = rng.integers(0, 2, size=2)  # random sign of signed magnitudes
    ops = []
    for k, (name, probability, level) in enumerate(POLICY[index]):  # two operations, in order
        level = 0 if level is None else level
        value = op_argument(name, level, height, width)
        if OPS[name][2] and signs[k] == 0:
            value = -value
        ops.append(OpCall(name=name, level=level, value=value, applied=bool(draws[k] < probability)))
    return AutoAugmentParams(index=index, ops=(ops[0], ops[1]), size=(height, width))


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")
    if image.shape[2] not in (1, 3):
        raise ValueError(f"image must have 1 (grey) or 3 (RGB) channels, got {image.shape[2]}")


def _fill_value(fill: int | Sequence[int], channels: int) -> tuple[int, ...]:
    values = np.atleast_1d(np.asarray(fill))
    if (values.dtype.kind not in "iuf" or values.ndim != 1 or values.shape[0] not in (1, channels)
            or np.any(values < 0) or np.any(values > 255) or np.any(values != np.rint(values))):
        raise ValueError(f"fill must be an int in [0, 255] or a sequence of {channels} of them, got {fill!r}")
    return tuple(int(v) for v in np.broadcast_to(values, (channels,)))


def apply_autoaugment(image: np.ndarray, params: AutoAugmentParams, fill: int | Sequence[int] = 128) -> np.ndarray:
    """Run the two operations of ``params`` that fired, in order (deterministic).

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array; not modified.
        params: the :class:`AutoAugmentParams` to apply (drawn for this H, W).
        fill: colour of the area geometric operations uncover (the authors' TensorFlow code fills
            with 128 grey).

    Returns:
        A new uint8 array of the same shape.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((4, 4, 3), 200, np.uint8)
        >>> q = AutoAugmentParams(0, (OpCall("Posterize", 8, 5.0, True), OpCall("Rotate", 9, 27.0, False)), (4, 4))
        >>> int(apply_autoaugment(image, q)[0, 0, 0])  # 200 = 0b11001000 keeps its top 5 bits
        200
    """
    _check_image(image)
    if not isinstance(params, AutoAugmentParams):
        raise ValueError(f"params must be AutoAugmentParams (from sample_autoaugment_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    colour = _fill_value(fill, image.shape[2])
    out = image.copy()
    for op in params.ops:  # two operations, not a loop over pixels
        if op.applied:
            out = OPS[op.name][0](out, op.value, colour)
    return out


def autoaugment(image: np.ndarray, rng: np.random.Generator, *, fill: int | Sequence[int] = 128) -> np.ndarray:
    """AutoAugment with the ImageNet policy: one random sub-policy of two operations per image.

    Equivalent to ``apply_autoaugment(image, sample_autoaugment_params(H, W, rng), fill)``. Pure: the
    input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array.
        rng: the explicit numpy random generator.
        fill: colour of the area rotate/shear/translate uncover (128, as the authors' TensorFlow code).

    Returns:
        The augmented uint8 array, same shape, a new array.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> out = autoaugment(np.full((32, 32, 3), 100, np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((32, 32, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_autoaugment_params(image.shape[0], image.shape[1], rng)
    return apply_autoaugment(image, params, fill)
