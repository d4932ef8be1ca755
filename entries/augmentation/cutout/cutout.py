"""Cutout (DeVries, Taylor: "Improved Regularization of Convolutional Neural Networks with Cutout",
arXiv:1708.04552, 2017).

An image augmentation: one fixed-size square patch at a random location is masked out. The patch
centre is drawn uniformly over *all* pixels, so near the border the patch is clipped and only partly
inside the image (authors' code uoguelph-mlrg/Cutout ``util/cutout.py``: ``y = np.random.randint(h)``,
then ``np.clip``). The authors apply the mask after mean/std normalisation (``train.py`` appends
``Cutout`` after ``Normalize``), so their zeroed pixels are the dataset mean colour; on a uint8 image
that is ``fill=<dataset mean>`` (e.g. CIFAR's ``(125, 123, 114)``), while the default ``fill=0`` is black.

The random parameters are drawn by :func:`sample_cutout_params` and applied by the deterministic
:func:`apply_cutout`; :func:`cutout` does both. All randomness comes from the explicit ``np.random.Generator``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Patch side (pixels) per dataset in the authors' experiments (README training commands:
# --length 16 for CIFAR-10, 8 for CIFAR-100, 20 for SVHN with WRN-16-8; all on 32 x 32 images).
PAPER_PATCH_SIZES: dict[str, int] = {"cifar10": 16, "cifar100": 8, "svhn": 20}


@dataclass(frozen=True)
class CutoutParams:
    """The random parameters of one Cutout draw.

    Attributes:
        center: (cy, cx), the patch centre, uniform over all pixels of the image.
        box: (y1, y2, x1, x2), rows y1:y2 and columns x1:x2 of the patch clipped to the image.
        size: (H, W) of the image the parameters were drawn for.
        applied: False when the patch was skipped (probability 1 - p); the image is then unchanged.
    """

    center: tuple[int, int]
    box: tuple[int, int, int, int]
    size: tuple[int, int]
    applied: bool = True

    @property
    def area(self) -> int:
        """Number of pixels (per channel) the patch masks, after clipping."""
        y1, y2, x1, x2 = self.box
        return (y2 - y1) * (x2 - x1) if self.applied else 0


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _clip(value: int, high: int) -> int:
    return min(max(value, 0), high)  # np.clip(value, 0, high) in the authors' code


def patch_box(center: tuple[int, int], size: int, height: int, width: int) -> tuple[int, int, int, int]:
    """The (y1, y2, x1, x2) of a size x size square centred on ``center``, clipped to an H x W image.

    The square spans rows cy - size // 2 .. cy - size // 2 + size - 1 (likewise columns); for even
    sizes this is the authors' ``[y - length // 2, y + length // 2)``.

    Args:
        center: (cy, cx) in pixels; any integer position (the patch may lie partly outside).
        size: the patch side in pixels.
        height: H of the image.
        width: W of the image.

    Returns:
        (y1, y2, x1, x2) with 0 <= y1 <= y2 <= H and 0 <= x1 <= x2 <= W.

    Examples:
        >>> patch_box((16, 16), 16, 32, 32)  # fully inside: 16 x 16
        (8, 24, 8, 24)
        >>> patch_box((0, 0), 16, 32, 32)  # centred on a corner: clipped to 8 x 8
        (0, 8, 0, 8)
    """
    cy, cx = int(center[0]), int(center[1])
    y1, x1 = cy - size // 2, cx - size // 2
    y2, x2 = y1 + size, x1 + size
    return _clip(y1, height), _clip(y2, height), _clip(x1, width), _clip(x2, width)


def sample_cutout_params(height: int, width: int, size: int, rng: np.random.Generator,
                         p: float = 1.0) -> CutoutParams:
    """Draw the patch centre uniformly over all H x W pixels (authors' code) and clip the patch.

    Args:
        height: H of the image.
        width: W of the image.
        size: the patch side in pixels (the paper's "length"; see ``PAPER_PATCH_SIZES``).
        rng: the explicit numpy random generator.
        p: probability of applying the patch. Not in the paper (which always applies it); default 1.0.

    Returns:
        A :class:`CutoutParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_cutout_params(32, 32, 16, np.random.default_rng(0))
        >>> 0 <= params.center[0] < 32 and params.area <= 256
        True
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_positive_int(size, "size")
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    cy = int(rng.integers(height))  # centre uniform over all rows (authors' np.random.randint(h))
    cx = int(rng.integers(width))  # and all columns: the patch may extend past the border
    applied = bool(rng.random() < p)
    return CutoutParams(center=(cy, cx), box=patch_box((cy, cx), size, height, width), size=(height, width),
                        applied=applied)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def _fill_value(image: np.ndarray, fill: int | Sequence[int] | str) -> np.ndarray:
    """The (C,) uint8 colour written into the patch (a uint8 scalar when one level fills every channel)."""
    channels = image.shape[2]
    if isinstance(fill, (int, np.integer)) and not isinstance(fill, bool) and 0 <= fill <= 255:
        return np.uint8(fill)  # the common case, checked without numpy calls (they cost more than the patch)
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(f"fill must be an int in [0, 255], a sequence of {channels} of them, or 'mean'; "
                             f"got {fill!r}")
        return np.rint(image.reshape(-1, channels).mean(axis=0)).astype(np.uint8)  # per-channel image mean
    values = np.atleast_1d(np.asarray(fill))
    if (values.dtype.kind not in "iuf" or values.ndim != 1 or values.shape[0] not in (1, channels)
            or np.any(values < 0) or np.any(values > 255) or np.any(values != np.rint(values))):
        raise ValueError(f"fill must be an int in [0, 255], a sequence of {channels} of them, or 'mean'; "
                         f"got {fill!r}")
    return np.broadcast_to(values.astype(np.uint8), (channels,))


def _paint(region: np.ndarray, value: np.ndarray) -> None:
    """``region[...] = value`` for an (h, w, C) view and a (C,) colour, fast.

    numpy broadcasts a (C,) colour with one short inner loop per pixel; painting the first row and then
    copying it to the other rows runs whole rows at a time (hundreds of times faster on large patches).
    """
    if value.ndim == 0 or value.strides[0] == 0:
        region[...] = value  # one level for all channels (a uint8 scalar or a stride-0 view): a plain fill
    elif len(region):
        region[0] = value
        region[1:] = region[0]


def apply_cutout(image: np.ndarray, params: CutoutParams, fill: int | Sequence[int] | str = 0) -> np.ndarray:
    """Mask the patch of ``params`` in a copy of ``image`` (deterministic).

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`CutoutParams` to apply (drawn for this H, W).
        fill: the colour of the patch: an int, one int per channel, or ``"mean"`` (this image's
            per-channel mean). The paper zeroes *normalised* inputs, i.e. fills with the dataset mean
            colour; pass that mean here to reproduce it on uint8 images (default 0, black).

    Returns:
        A new (H, W, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((32, 32, 3), 200, np.uint8)
        >>> params = CutoutParams(center=(16, 16), box=(8, 24, 8, 24), size=(32, 32))
        >>> int((apply_cutout(image, params) == 0).all(axis=2).sum())
        256
    """
    _check_image(image)
    if not isinstance(params, CutoutParams):
        raise ValueError(f"params must be CutoutParams (from sample_cutout_params), got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    value = _fill_value(image, fill)
    out = image.copy()
    if params.applied:
        y1, y2, x1, x2 = params.box
        _paint(out[y1:y2, x1:x2], value)  # the zero-mask of the paper, as one vectorised slice fill
    return out


def cutout(image: np.ndarray, rng: np.random.Generator, *, size: int = 16, fill: int | Sequence[int] | str = 0,
           p: float = 1.0) -> np.ndarray:
    """Cutout: mask one size x size square at a uniformly random centre (possibly partly outside).

    Equivalent to ``apply_cutout(image, sample_cutout_params(H, W, size, rng, p), fill)``. Pure: the
    input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey with C = 1, ...).
        rng: the explicit numpy random generator.
        size: the patch side in pixels; 16 is the authors' CIFAR-10 setting (8 for CIFAR-100, 20 for
            SVHN: ``PAPER_PATCH_SIZES``; those images are 32 x 32, so scale it with the image).
        fill: the patch colour (see :func:`apply_cutout`); 0 by default.
        p: probability of applying the patch (1.0, the paper, always applies it).

    Returns:
        The augmented (H, W, C) uint8 array, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((32, 32, 3), 255, np.uint8)
        >>> out = cutout(image, np.random.default_rng(0), size=16)
        >>> out.shape, out.dtype, int((out == 0).all(axis=2).sum()) <= 256
        ((32, 32, 3), dtype('uint8'), True)
    """
    _check_image(image)
    params = sample_cutout_params(image.shape[0], image.shape[1], size, rng, p)
    return apply_cutout(image, params, fill)
