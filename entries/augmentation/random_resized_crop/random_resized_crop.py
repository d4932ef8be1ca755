"""Random resized crop, the Inception-style crop (Szegedy et al.: "Going Deeper with Convolutions",
CVPR 2015, arXiv:1409.4842, Sec. 6 "Training Methodology"), as implemented by torchvision's
``RandomResizedCrop``.

An image augmentation: crop a patch whose area is a uniformly random fraction of the image
(``scale=(0.08, 1.0)``: "between 8% and 100% of the image area") and whose aspect ratio is random in
``ratio=(3/4, 4/3)``, then resize it to ``size`` x ``size``. As in torchvision, the aspect ratio is drawn
log-uniformly, a draw that does not fit is retried up to 10 times, and after that the crop falls back to
the largest centred crop whose aspect ratio lies in ``ratio``.

The random parameters are drawn by :func:`sample_random_resized_crop_params` and applied by the
deterministic :func:`apply_random_resized_crop`; :func:`random_resized_crop` does both. All randomness
comes from the explicit ``np.random.Generator``; the pixel work is OpenCV's ``cv2.resize``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Sec. 6: patches of 8% to 100% of the image area, aspect ratio in [3/4, 4/3] (torchvision's defaults).
PAPER_SCALE: tuple[float, float] = (0.08, 1.0)
PAPER_RATIO: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)
MAX_ATTEMPTS = 10  # torchvision: ``for _ in range(10)``, then the centre-crop fallback

INTERPOLATIONS: dict[str, int] = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR,
                                  "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}


@dataclass(frozen=True)
class RandomResizedCropParams:
    """The random parameters of one crop.

    Attributes:
        box: (top, left, height, width) of the crop in the input image (torchvision's (i, j, h, w)).
        size: (H, W) of the image the parameters were drawn for.
        output_size: (out_h, out_w) the crop is resized to.
        fallback: True when no draw fitted in ``MAX_ATTEMPTS`` tries and the centre crop was used.
        drawn_scale: the accepted draw of the area fraction, before rounding the sides (0.0 on fallback).
        drawn_ratio: the accepted draw of the aspect ratio w / h, before rounding (0.0 on fallback).
    """

    box: tuple[int, int, int, int]
    size: tuple[int, int]
    output_size: tuple[int, int]
    fallback: bool = False
    drawn_scale: float = 0.0
    drawn_ratio: float = 0.0

    @property
    def area_fraction(self) -> float:
        """Crop area / image area."""
        return self.box[2] * self.box[3] / (self.size[0] * self.size[1])

    @property
    def aspect_ratio(self) -> float:
        """Crop width / height (torchvision's convention)."""
        return self.box[3] / self.box[2]


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _output_size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        _check_positive_int(size, "size")
        return int(size), int(size)
    if isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 2:
        _check_positive_int(size[0], "size[0]")
        _check_positive_int(size[1], "size[1]")
        return int(size[0]), int(size[1])
    raise ValueError(f"size must be a positive int or a (height, width) pair, got {size!r}")


def _check_range(value: Sequence[float], name: str) -> tuple[float, float]:
    ok = isinstance(value, Sequence) and len(value) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in value)
    if not ok or value[0] > value[1]:
        raise ValueError(f"{name} must be a (min, max) pair of positive numbers with min <= max, got {value!r}")
    return float(value[0]), float(value[1])


def sample_random_resized_crop_params(height: int, width: int, rng: np.random.Generator, *,
                                      size: int | Sequence[int] = 224,
                                      scale: Sequence[float] = PAPER_SCALE,
                                      ratio: Sequence[float] = PAPER_RATIO,
                                      max_attempts: int = MAX_ATTEMPTS) -> RandomResizedCropParams:
    """Draw a crop box as torchvision's ``RandomResizedCrop.get_params`` does.

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        size: output side (int) or (height, width).
        scale: (min, max) crop area as a fraction of the image area (Sec. 6: 8% to 100%).
        ratio: (min, max) crop aspect ratio width / height (Sec. 6: 3/4 to 4/3).
        max_attempts: draws before the centre-crop fallback (torchvision: 10).

    Returns:
        A :class:`RandomResizedCropParams`. The same generator state gives the same parameters.

    Examples:
        >>> q = sample_random_resized_crop_params(256, 256, np.random.default_rng(0))
        >>> 0.07 < q.area_fraction <= 1.0 and q.output_size == (224, 224)
        True
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_positive_int(max_attempts, "max_attempts")
    out_size = _output_size(size)
    lo_s, hi_s = _check_range(scale, "scale")
    lo_r, hi_r = _check_range(ratio, "ratio")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    area = height * width
    log_ratio = (math.log(lo_r), math.log(hi_r))
    for _ in range(max_attempts):
        drawn_scale = float(rng.uniform(lo_s, hi_s))
        target_area = area * drawn_scale  # Sec. 6: area uniform in [8%, 100%] of the image
        # Aspect ratio in [3/4, 4/3], drawn log-uniformly as in torchvision (the paper says "randomly").
        aspect = math.exp(float(rng.uniform(*log_ratio)))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return RandomResizedCropParams(box=(top, left, h, w), size=(height, width), output_size=out_size,
                                           drawn_scale=drawn_scale, drawn_ratio=aspect)
    # torchvision's fallback: the largest centred crop whose aspect ratio is clamped into ``ratio``.
    in_ratio = width / height
    if in_ratio < lo_r:
        w, h = width, int(round(width / lo_r))
    elif in_ratio > hi_r:
        h, w = height, int(round(height * hi_r))
    else:
        w, h = width, height
    h, w = max(1, min(h, height)), max(1, min(w, width))
    return RandomResizedCropParams(box=((height - h) // 2, (width - w) // 2, h, w), size=(height, width),
                                   output_size=out_size, fallback=True)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def apply_random_resized_crop(image: np.ndarray, params: RandomResizedCropParams,
                              interpolation: str = "bilinear") -> np.ndarray:
    """Crop ``params.box`` out of ``image`` and resize it to ``params.output_size`` (deterministic).

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`RandomResizedCropParams` to apply (drawn for this H, W).
        interpolation: ``"bilinear"`` (default, ``cv2.INTER_LINEAR``), ``"nearest"``, ``"bicubic"``,
            ``"area"`` or ``"lanczos"``. OpenCV's bilinear does not antialias when shrinking, unlike
            torchvision's default ``antialias=True``; use ``"area"`` for large reductions.

    Returns:
        A new (out_h, out_w, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (out_h, out_w, C), ``params.output_size``

    Examples:
        >>> image = np.zeros((100, 80, 3), np.uint8)
        >>> q = RandomResizedCropParams(box=(10, 5, 40, 30), size=(100, 80), output_size=(32, 32))
        >>> apply_random_resized_crop(image, q).shape
        (32, 32, 3)
    """
    _check_image(image)
    if not isinstance(params, RandomResizedCropParams):
        raise ValueError(f"params must be RandomResizedCropParams (from sample_random_resized_crop_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")
    top, left, h, w = params.box
    out_h, out_w = params.output_size
    crop = image[top:top + h, left:left + w]  # (h, w, C), a view
    # Deviation: cv2.INTER_LINEAR without antialiasing (torchvision: bilinear with antialias=True).
    out = cv2.resize(np.ascontiguousarray(crop), (out_w, out_h), interpolation=INTERPOLATIONS[interpolation])
    return out.reshape(out_h, out_w, image.shape[2])  # cv2 drops a single channel axis: restore (.., C)


def random_resized_crop(image: np.ndarray, rng: np.random.Generator, *, size: int | Sequence[int] = 224,
                        scale: Sequence[float] = PAPER_SCALE, ratio: Sequence[float] = PAPER_RATIO,
                        interpolation: str = "bilinear", max_attempts: int = MAX_ATTEMPTS) -> np.ndarray:
    """Inception-style random resized crop: a random 8%-100% area, 3/4-4/3 aspect patch, resized.

    Equivalent to ``apply_random_resized_crop(image, sample_random_resized_crop_params(H, W, rng, ...))``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (any channel count).
        rng: the explicit numpy random generator.
        size: output side (int) or (height, width); 224 by default.
        scale: (min, max) area fraction of the crop (Sec. 6: (0.08, 1.0)).
        ratio: (min, max) aspect ratio width / height (Sec. 6: (3/4, 4/3)).
        interpolation: resize filter (see :func:`apply_random_resized_crop`); bilinear by default.
        max_attempts: draws before the centre-crop fallback (torchvision: 10).

    Returns:
        The (out_h, out_w, C) uint8 crop, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (size, size, C), or (size[0], size[1], C)

    Examples:
        >>> out = random_resized_crop(np.zeros((300, 400, 3), np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((224, 224, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_random_resized_crop_params(image.shape[0], image.shape[1], rng, size=size, scale=scale,
                                               ratio=ratio, max_attempts=max_attempts)
    return apply_random_resized_crop(image, params, interpolation)
