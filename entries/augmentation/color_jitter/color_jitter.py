"""Colour jitter: random brightness, contrast, saturation and hue changes in random order, as
torchvision's ``ColorJitter``. The photometric distortion of ImageNet training goes back to Howard,
"Some Improvements on Deep Convolutional Neural Network Based Image Classification" (arXiv:1312.5402,
2013), who added random brightness, contrast and color manipulations to the AlexNet pipeline; the
factor ranges and random order here are torchvision's.

Each factor is drawn uniformly: brightness b in [1 - brightness, 1 + brightness], contrast c and
saturation s likewise, hue shift h in [-hue, hue] (a fraction of the hue circle). The four operations
run in a random order:

- brightness: x * b (blend with black);
- contrast: x * c + (1 - c) * mean(grey(x)) (blend with the mean grey level);
- saturation: x * s + (1 - s) * grey(x) (blend with the grey image);
- hue: rotate the hue by h turns in HSV.

The random parameters are drawn by :func:`sample_color_jitter_params` and applied by the deterministic
:func:`apply_color_jitter`; :func:`color_jitter` does both. Pixel work in OpenCV/numpy (float32, uint8 HSV).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import cv2
import numpy as np

# Defaults brightness = contrast = saturation = 0.4, hue = 0.1: MoCo v2's ColorJitter(0.4, 0.4, 0.4, 0.1)
# (facebookresearch/moco main_moco.py); 0.4 for the first three is also timm's --color-jitter default.
DEFAULTS: dict[str, float] = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}
OPS: tuple[str, ...] = ("brightness", "contrast", "saturation", "hue")  # torchvision's fn_idx order
GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma (cv2 RGB2GRAY; torchvision 0.2989)


@dataclass(frozen=True)
class ColorJitterParams:
    """The random parameters of one colour jitter draw.

    Attributes:
        order: the four operation names in the order they are applied.
        brightness: factor b (1.0 = unchanged).
        contrast: factor c (1.0 = unchanged).
        saturation: factor s (1.0 = unchanged).
        hue: shift in turns of the hue circle, in [-0.5, 0.5] (0.0 = unchanged).
    """

    order: tuple[str, str, str, str]
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0


def _check_strength(value: float, name: str, high: float = math.inf) -> None:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and 0.0 <= value <= high):
        raise ValueError(f"{name} must be a number in [0, {high}], got {value!r}")


def sample_color_jitter_params(rng: np.random.Generator, *, brightness: float = 0.4, contrast: float = 0.4,
                               saturation: float = 0.4, hue: float = 0.1) -> ColorJitterParams:
    """Draw the four factors and a random order (torchvision's ``ColorJitter.get_params``).

    Args:
        rng: the explicit numpy random generator.
        brightness: b ~ U(max(0, 1 - brightness), 1 + brightness).
        contrast: c ~ U(max(0, 1 - contrast), 1 + contrast).
        saturation: s ~ U(max(0, 1 - saturation), 1 + saturation).
        hue: h ~ U(-hue, hue), in [0, 0.5].

    Returns:
        A :class:`ColorJitterParams`.

    Examples:
        >>> q = sample_color_jitter_params(np.random.default_rng(0))
        >>> 0.6 <= q.brightness <= 1.4 and -0.1 <= q.hue <= 0.1 and sorted(q.order) == sorted(OPS)
        True
    """
    for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
        _check_strength(value, name)
    _check_strength(hue, "hue", 0.5)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    order = tuple(OPS[i] for i in rng.permutation(4))  # torchvision: fn_idx = torch.randperm(4)
    b = float(rng.uniform(max(0.0, 1 - brightness), 1 + brightness))
    c = float(rng.uniform(max(0.0, 1 - contrast), 1 + contrast))
    s = float(rng.uniform(max(0.0, 1 - saturation), 1 + saturation))
    h = float(rng.uniform(-hue, hue))
    return ColorJitterParams(order=order, brightness=b, contrast=c, saturation=s, hue=h)


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


def _to_uint8(x: np.ndarray) -> np.ndarray:
    # Deviation: round to nearest (torchvision truncates float -> uint8 after clamping).
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) float32 luma of an RGB (or grey) uint8 image."""
    if image.shape[2] == 1:
        return image.astype(np.float32)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None]


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """x * factor, clipped to [0, 255] (a blend with black)."""
    return _to_uint8(image.astype(np.float32) * np.float32(factor))


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's mean grey level: factor * x + (1 - factor) * mean(grey(x))."""
    mean = np.float32(_grey(image).mean())
    return _to_uint8(image.astype(np.float32) * np.float32(factor) + (1 - np.float32(factor)) * mean)


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image: factor * x + (1 - factor) * grey(x). Grey images are unchanged."""
    if image.shape[2] == 1:
        return image.copy()
    return _to_uint8(image.astype(np.float32) * np.float32(factor) + (1 - np.float32(factor)) * _grey(image))


def adjust_hue(image: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns (RGB input). Grey images are unchanged.

    OpenCV's uint8 HSV stores hue as degrees / 2 in 0..179, so the shift is ``round(shift * 180)`` steps
    added modulo 180 (2-degree resolution), through a lookup table on the hue channel.
    """
    steps = int(round(shift * 180)) % 180
    if image.shape[2] == 1 or steps == 0:
        return image.copy()  # no rotation: skip the (slightly lossy) HSV round trip
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)  # H in 0..179, S and V in 0..255
    lut = np.arange(256, dtype=np.int32)
    lut[:180] = (lut[:180] + steps) % 180  # wrap around OpenCV's 180-step hue circle
    hsv[..., 0] = cv2.LUT(hsv[..., 0], lut.astype(np.uint8))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


_APPLY = {"brightness": adjust_brightness, "contrast": adjust_contrast, "saturation": adjust_saturation,
          "hue": adjust_hue}


def apply_color_jitter(image: np.ndarray, params: ColorJitterParams) -> np.ndarray:
    """Apply the four adjustments of ``params`` in ``params.order`` (deterministic).

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array; not modified.
        params: the :class:`ColorJitterParams` to apply.

    Returns:
        A new uint8 array of the same shape.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> red = np.zeros((2, 2, 3), np.uint8); red[..., 0] = 255
        >>> q = ColorJitterParams(order=OPS, hue=0.5)
        >>> apply_color_jitter(red, q)[0, 0].tolist()  # red -> cyan
        [0, 255, 255]
    """
    _check_image(image)
    if not isinstance(params, ColorJitterParams):
        raise ValueError(f"params must be ColorJitterParams (from sample_color_jitter_params), "
                         f"got {type(params).__name__}")
    if sorted(params.order) != sorted(OPS):
        raise ValueError(f"params.order must be a permutation of {OPS}, got {params.order!r}")
    out = image.copy()
    for name in params.order:  # four operations, not a loop over pixels
        out = _APPLY[name](out, getattr(params, name))
    return out


def color_jitter(image: np.ndarray, rng: np.random.Generator, *, brightness: float = 0.4, contrast: float = 0.4,
                 saturation: float = 0.4, hue: float = 0.1) -> np.ndarray:
    """Random brightness, contrast, saturation and hue in random order (torchvision ``ColorJitter``).

    Equivalent to ``apply_color_jitter(image, sample_color_jitter_params(rng, ...))``. Pure: the input is
    never modified; the same seed gives the same output.

    Args:
        image: (H, W, 3) RGB or (H, W, 1) grey uint8 array.
        rng: the explicit numpy random generator.
        brightness: jitter strength; b ~ U(max(0, 1 - brightness), 1 + brightness).
        contrast: jitter strength; c ~ U(max(0, 1 - contrast), 1 + contrast).
        saturation: jitter strength; s ~ U(max(0, 1 - saturation), 1 + saturation).
        hue: jitter strength in [0, 0.5]; h ~ U(-hue, hue) turns of the hue circle.

    Returns:
        The jittered uint8 array, same shape, a new array.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> out = color_jitter(np.full((8, 8, 3), 100, np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((8, 8, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_color_jitter_params(rng, brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)
    return apply_color_jitter(image, params)
