"""3-Augment (Touvron, Cord, Jégou: "DeiT III: Revenge of the ViT", ECCV 2022, arXiv:2204.07118).

DeiT III replaces RandAugment with a data augmentation taken from self-supervised learning (Sec. 3,
"3-Augment"): each image gets exactly one of three operations, drawn uniformly,

- grayscale (favours colour invariance and shape),
- solarization (strong colour noise: every level >= 128 is inverted),
- Gaussian blur (slightly alters details),

followed by the usual colour jitter. The authors' code (facebookresearch/deit ``augment.py``,
``new_data_aug_generator``) is::

    transforms.RandomChoice([gray_scale(p=1.0), Solarization(p=1.0), GaussianBlur(p=1.0)])
    transforms.ColorJitter(args.color_jitter, args.color_jitter, args.color_jitter)

with ``GaussianBlur`` a PIL blur of radius (standard deviation) uniform in [0.1, 2.0], ``Solarization``
``PIL.ImageOps.solarize`` (threshold 128), ``gray_scale`` torchvision's ``Grayscale(3)``, and
``--color-jitter 0.3`` in every DeiT III training command (README_revenge.md). The crop (random resized
crop or simple random crop) and the horizontal flip that precede it in the pipeline are separate
entries; this entry is the three-way choice plus the colour jitter.

The random parameters are drawn by :func:`sample_three_augment_params` and applied by the deterministic
:func:`apply_three_augment`; :func:`three_augment` does both. Pixel work in OpenCV/numpy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

OPS: tuple[str, ...] = ("grayscale", "solarization", "gaussian_blur")  # deit RandomChoice order
JITTER_OPS: tuple[str, ...] = ("brightness", "contrast", "saturation")  # ColorJitter(s, s, s): hue is off
SOLARIZE_THRESHOLD = 128  # PIL ImageOps.solarize default: levels >= 128 become 255 - level
BLUR_SIGMA_RANGE: tuple[float, float] = (0.1, 2.0)  # deit GaussianBlur(radius_min=0.1, radius_max=2.)
COLOR_JITTER = 0.3  # every DeiT III training command: --color-jitter 0.3 --ThreeAugment (README_revenge.md)


@dataclass(frozen=True)
class ThreeAugmentParams:
    """The random parameters of one 3-Augment draw.

    Attributes:
        op: the one operation applied, one of ``OPS``.
        sigma: the blur standard deviation in pixels when ``op == "gaussian_blur"``, else None.
        jitter_order: the order of the colour-jitter operations (a permutation of ``JITTER_OPS``;
            empty when the jitter is off).
        brightness: brightness factor (1.0 = unchanged).
        contrast: contrast factor (1.0 = unchanged).
        saturation: saturation factor (1.0 = unchanged).
    """

    op: str
    sigma: float | None = None
    jitter_order: tuple[str, ...] = ()
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")


def _check_sigma_range(sigma_range: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in sigma_range)
    except (TypeError, ValueError):
        raise ValueError(f"sigma_range must be two numbers (low, high), got {sigma_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo <= hi):
        raise ValueError(f"sigma_range must satisfy 0 < low <= high (finite), got {sigma_range!r}")
    return lo, hi


def sample_three_augment_params(rng: np.random.Generator, *, color_jitter: float = COLOR_JITTER,
                                sigma_range: Sequence[float] = BLUR_SIGMA_RANGE) -> ThreeAugmentParams:
    """Draw one of the three operations uniformly, its blur sigma, and the colour-jitter factors.

    Args:
        rng: the explicit numpy random generator.
        color_jitter: jitter strength s of ``ColorJitter(s, s, s)``; each factor is drawn from
            U(max(0, 1 - s), 1 + s). 0 turns the jitter off (deit skips it then). Default 0.3, DeiT III.
        sigma_range: (low, high) of the uniform blur standard deviation (deit: 0.1, 2.0).

    Returns:
        A :class:`ThreeAugmentParams`.

    Examples:
        >>> q = sample_three_augment_params(np.random.default_rng(0))
        >>> q.op in OPS and 0.7 <= q.brightness <= 1.3
        True
    """
    if not (isinstance(color_jitter, numbers.Real) and not isinstance(color_jitter, bool)
            and math.isfinite(color_jitter) and color_jitter >= 0.0):
        raise ValueError(f"color_jitter must be a finite number >= 0, got {color_jitter!r}")
    lo, hi = _check_sigma_range(sigma_range)
    _check_rng(rng)
    op = OPS[int(rng.integers(len(OPS)))]  # torchvision RandomChoice: one of three, uniformly (Sec. 3)
    sigma = float(rng.uniform(lo, hi)) if op == "gaussian_blur" else None  # random.uniform(0.1, 2.)
    if color_jitter == 0:
        return ThreeAugmentParams(op=op, sigma=sigma)
    order = tuple(JITTER_OPS[i] for i in rng.permutation(len(JITTER_OPS)))  # ColorJitter: random order
    low = max(0.0, 1.0 - float(color_jitter))
    b, c, s = (float(rng.uniform(low, 1.0 + color_jitter)) for _ in range(3))
    return ThreeAugmentParams(op=op, sigma=sigma, jitter_order=order, brightness=b, contrast=c, saturation=s)


# ---- the operations (uint8 in, uint8 out) -----------------------------------------------------------
def _to_uint8(x: np.ndarray) -> np.ndarray:
    # Deviation: one float32 computation rounded to nearest; PIL's ImageEnhance blends in 8 bits.
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) uint8 luma 0.299 R + 0.587 G + 0.114 B (= PIL ``convert("L")``) of an RGB or grey image."""
    if image.shape[2] == 1:
        return image.copy()
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]


def grayscale(image: np.ndarray) -> np.ndarray:
    """Grey level in every channel (torchvision ``Grayscale(num_output_channels=3)``)."""
    return np.repeat(_grey(image), image.shape[2], axis=2)


def solarize(image: np.ndarray, threshold: int = SOLARIZE_THRESHOLD) -> np.ndarray:
    """Invert every level >= ``threshold`` (PIL ``ImageOps.solarize``: ``i if i < t else 255 - i``).

    As PIL does it, a 256-entry lookup table (one pass over the pixels; np.where made two temporaries and
    ran 4x slower than the table at 224 x 224)."""
    levels = np.arange(256, dtype=np.uint8)
    return cv2.LUT(image, np.where(levels < threshold, levels, 255 - levels)).reshape(image.shape)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels (PIL ``ImageFilter.GaussianBlur(radius=sigma)``).

    Deviation: PIL approximates the Gaussian with three extended box filters; this is OpenCV's sampled
    Gaussian, truncated at about 3 sigma (kernel size chosen by OpenCV), with the border replicated as
    PIL's box blur does. Outputs differ from PIL by a few levels at most.
    """
    out = cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), sigmaY=float(sigma),
                           borderType=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)  # cv2 drops a single channel axis


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """x * factor (a blend with black), clipped to [0, 255]."""
    return _to_uint8(image.astype(np.float32) * np.float32(factor))


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean grey level: factor * x + (1 - factor) * mean(grey(x))."""
    mean = np.float32(_grey(image).mean())
    return _to_uint8(image.astype(np.float32) * np.float32(factor) + (1 - np.float32(factor)) * mean)


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image: factor * x + (1 - factor) * grey(x). Grey images are unchanged."""
    if image.shape[2] == 1:
        return image.copy()
    grey = _grey(image).astype(np.float32)
    return _to_uint8(image.astype(np.float32) * np.float32(factor) + (1 - np.float32(factor)) * grey)


_JITTER = {"brightness": adjust_brightness, "contrast": adjust_contrast, "saturation": adjust_saturation}


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


def apply_three_augment(image: np.ndarray, params: ThreeAugmentParams) -> np.ndarray:
    """Apply the chosen operation, then the colour jitter in ``params.jitter_order`` (deterministic).

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array; not modified.
        params: the :class:`ThreeAugmentParams` to apply.

    Returns:
        A new uint8 array of the same shape.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> image = np.array([[[200, 30, 90]]], np.uint8)
        >>> apply_three_augment(image, ThreeAugmentParams(op="solarization"))[0, 0].tolist()
        [55, 30, 90]
    """
    _check_image(image)
    if not isinstance(params, ThreeAugmentParams):
        raise ValueError(f"params must be ThreeAugmentParams (from sample_three_augment_params), "
                         f"got {type(params).__name__}")
    if params.op not in OPS:
        raise ValueError(f"params.op must be one of {OPS}, got {params.op!r}")
    if params.op == "gaussian_blur":
        if params.sigma is None or not (math.isfinite(params.sigma) and params.sigma > 0):
            raise ValueError(f"params.sigma must be a positive number for gaussian_blur, got {params.sigma!r}")
        out = gaussian_blur(image, params.sigma)
    elif params.op == "grayscale":
        out = grayscale(image)
    else:
        out = solarize(image)
    if params.jitter_order and sorted(params.jitter_order) != sorted(JITTER_OPS):
        raise ValueError(f"params.jitter_order must be a permutation of {JITTER_OPS} or empty, "
                         f"got {params.jitter_order!r}")
    for name in params.jitter_order:  # three operations, not a loop over pixels
        out = _JITTER[name](out, getattr(params, name))
    return out


def three_augment(image: np.ndarray, rng: np.random.Generator, *, color_jitter: float = COLOR_JITTER,
                  sigma_range: Sequence[float] = BLUR_SIGMA_RANGE) -> np.ndarray:
    """3-Augment: one of grayscale / solarization / Gaussian blur (uniformly), then colour jitter.

    Equivalent to ``apply_three_augment(image, sample_three_augment_params(rng, ...))``. Pure: the input
    is never modified; the same seed gives the same output.

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array.
        rng: the explicit numpy random generator.
        color_jitter: strength s of the brightness/contrast/saturation jitter (0.3 in DeiT III; 0: off).
        sigma_range: (low, high) of the uniform blur standard deviation in pixels (0.1, 2.0).

    Returns:
        The augmented uint8 array, same shape, a new array.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> out = three_augment(np.full((8, 8, 3), 100, np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((8, 8, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_three_augment_params(rng, color_jitter=color_jitter, sigma_range=sigma_range)
    return apply_three_augment(image, params)
