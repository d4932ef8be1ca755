"""GridMask (Chen, Liu, Zhao, Wang, Jia: "GridMask Data Augmentation", arXiv:2001.04086, 2020).

An image augmentation: a regular grid of squares is removed from the image (Sec. 3). The mask
$M \\in \\{0, 1\\}^{H \\times W}$ is tiled from units of side $d$; in every unit a band of relative width
$r$ along two sides is kept and the remaining $(1 - r) d$ x $(1 - r) d$ square is removed, so the kept
fraction is $k = 1 - (1 - r)^2$. The grid is shifted by random offsets $(\\delta_x, \\delta_y)$ and may be
rotated; the result is $\\tilde{x} = x \\times M$, applied after normalisation, so removed pixels are the
dataset mean. Settings follow the authors' code (dvlab-research/GridMask ``imagenet_grid/utils/grid.py``
and the ResNet-50 ImageNet run ``start_train.sh``: ``--d1 96 --d2 224 --ratio 0.6 --rotate 360 --mode 1
--prob 0.8``).

The random parameters are drawn by :func:`sample_gridmask_params` and applied by the deterministic
:func:`apply_gridmask`; :func:`gridmask` does both. All randomness comes from the explicit
``np.random.Generator``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# The authors' ImageNet ResNet-50 run (start_train.sh): unit d drawn from [96, 224), keep-band ratio r = 0.6,
# rotation by a random whole number of degrees in [0, 360), applied with probability 0.8 (after a linear ramp).
PAPER_IMAGENET: dict[str, float] = {"d_min": 96, "d_max": 224, "ratio": 0.6, "rotate": 360, "p": 0.8}
# ImageNet mean RGB in uint8 levels, (0.485, 0.456, 0.406) x 255 rounded: what x * M gives after normalisation.
IMAGENET_MEAN_RGB: tuple[int, int, int] = (124, 116, 104)


@dataclass(frozen=True)
class GridMaskParams:
    """The random parameters of one GridMask draw.

    Attributes:
        d: the unit length in pixels (0 if not applied).
        offset: (delta_y, delta_x), the grid's shift in [0, d) (the code's ``st_h, st_w``).
        angle: rotation of the mask in degrees, counter-clockwise.
        ratio: r, the relative width of the kept band; the removed square has side d - round(r d).
        size: (H, W) of the image the parameters were drawn for.
        applied: False when the mask was skipped (probability 1 - p); the image is then unchanged.
    """

    d: int
    offset: tuple[int, int]
    angle: int
    ratio: float
    size: tuple[int, int]
    applied: bool = True

    def keep_mask(self) -> np.ndarray:
        """(H, W) bool array, True where the pixel is kept (M = 1)."""
        height, width = self.size
        if not self.applied:
            return np.ones((height, width), dtype=bool)
        # The authors draw on a 1.5x canvas, rotate it, and crop the centre, so rotation leaves no empty corners.
        hh, ww = int(1.5 * height), int(1.5 * width)
        band = int(self.d * self.ratio + 0.5)  # l = int(d * ratio + 0.5), the kept band (code, mode 1)
        dy, dx = self.offset
        rows = (np.arange(hh) - dy) % self.d >= band  # (hh,) rows outside the horizontal kept bands
        cols = (np.arange(ww) - dx) % self.d >= band  # (ww,)
        removed = (rows[:, None] & cols[None, :]).astype(np.uint8)  # (hh, ww): the (d - l)^2 squares, Sec. 3
        if self.angle % 360:
            # PIL ``Image.rotate(r)`` in the code: counter-clockwise about the centre, nearest neighbour,
            # 0 outside (which the code's mode-1 inversion turns into "kept").
            matrix = cv2.getRotationMatrix2D(((ww - 1) / 2.0, (hh - 1) / 2.0), float(self.angle), 1.0)
            removed = cv2.warpAffine(removed, matrix, (ww, hh), flags=cv2.INTER_NEAREST,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        top, left = (hh - height) // 2, (ww - width) // 2
        return removed[top:top + height, left:left + width] == 0  # (H, W)

    @property
    def keep_fraction(self) -> float:
        """Fraction of pixels kept, the paper's keep ratio k measured on this image."""
        return float(self.keep_mask().mean())


def keep_ratio(ratio: float) -> float:
    """The keep ratio of a full unit, k = 1 - (1 - r)^2 (Sec. 3).

    Args:
        ratio: r in [0, 1].

    Returns:
        k in [0, 1].

    Examples:
        >>> round(keep_ratio(0.6), 4)
        0.84
    """
    return 1.0 - (1.0 - ratio) ** 2


def linear_ramp_p(epoch: int, ramp_epochs: int, p: float = 0.8) -> float:
    """The authors' schedule of the application probability: ``p * min(1, epoch / ramp_epochs)``.

    ``Grid.set_prob`` in the authors' code; their ImageNet run ramps to 0.8 over ``--st_epochs 240``.
    Pass the result as ``p`` to :func:`gridmask`.

    Args:
        epoch: the current epoch (0-based).
        ramp_epochs: epochs over which p rises linearly from 0.
        p: the final probability.

    Returns:
        The probability for this epoch.

    Examples:
        >>> linear_ramp_p(120, 240), linear_ramp_p(300, 240)
        (0.4, 0.8)
    """
    _check_positive_int(ramp_epochs, "ramp_epochs")
    return p * min(1.0, epoch / ramp_epochs)


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_real(value: float, name: str, low: float, high: float) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def sample_gridmask_params(height: int, width: int, rng: np.random.Generator, *, d_min: int = 96,
                           d_max: int = 224, ratio: float = 0.6, rotate: int = 360,
                           p: float = 0.8) -> GridMaskParams:
    """Draw whether to apply the mask, then d, the offsets and the angle, in the authors' order.

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        d_min: smallest unit length (ImageNet: 96).
        d_max: the unit length is drawn from [d_min, d_max) (``np.random.randint(d1, d2)``; ImageNet: 224).
        ratio: r, the relative width of the kept band (ImageNet: 0.6, keep ratio k = 0.84).
        rotate: the angle is a whole number of degrees drawn from [0, rotate) (ImageNet: 360; 1 = no rotation).
        p: probability of applying the mask (ImageNet: 0.8 at the end of the ramp, see :func:`linear_ramp_p`).

    Returns:
        A :class:`GridMaskParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_gridmask_params(224, 224, np.random.default_rng(0), p=1.0)
        >>> 96 <= params.d < 224 and 0 <= params.angle < 360
        True
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_positive_int(d_min, "d_min")
    _check_positive_int(d_max, "d_max")
    if d_max <= d_min:
        raise ValueError(f"d_max must be > d_min (d is drawn from [d_min, d_max)), got d_min={d_min}, d_max={d_max}")
    _check_real(ratio, "ratio", 0.0, 1.0)
    _check_positive_int(rotate, "rotate")
    _check_real(p, "p", 0.0, 1.0)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    if rng.random() > p:  # the code: ``if np.random.rand() > self.prob: return img``
        return GridMaskParams(d=0, offset=(0, 0), angle=0, ratio=ratio, size=(height, width), applied=False)
    d = int(rng.integers(d_min, d_max))  # d = random(d_min, d_max)
    dy = int(rng.integers(d))  # delta_y in [0, d - 1]
    dx = int(rng.integers(d))  # delta_x in [0, d - 1]
    angle = int(rng.integers(rotate))  # whole degrees; rotate=1 gives 0
    return GridMaskParams(d=d, offset=(dy, dx), angle=angle, ratio=float(ratio), size=(height, width))


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
    channels = image.shape[2]
    if isinstance(fill, (int, np.integer)) and not isinstance(fill, bool) and 0 <= fill <= 255:
        return np.uint8(fill)  # the common cases, checked without numpy calls (they cost more than the mask)
    if (isinstance(fill, (tuple, list)) and len(fill) == channels
            and all(type(v) is int and 0 <= v <= 255 for v in fill)):
        return np.array(fill, np.uint8)
    message = f"fill must be an int in [0, 255], a sequence of {channels} of them, or 'mean'; got {fill!r}"
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(message)
        return np.rint(image.reshape(-1, channels).mean(axis=0)).astype(np.uint8)
    values = np.atleast_1d(np.asarray(fill))
    if (values.dtype.kind not in "iuf" or values.ndim != 1 or values.shape[0] not in (1, channels)
            or np.any(values < 0) or np.any(values > 255) or np.any(values != np.rint(values))):
        raise ValueError(message)
    return np.broadcast_to(values.astype(np.uint8), (channels,))


def _paint(region: np.ndarray, value: np.ndarray) -> None:
    """``region[...] = value`` for an (h, w, C) array and a (C,) colour, fast.

    numpy broadcasts a (C,) colour with one short inner loop per pixel; painting the first row and then
    copying it to the other rows runs whole rows at a time (hundreds of times faster on a full image).
    """
    if value.ndim == 0 or value.strides[0] == 0:
        region[...] = value  # one level for all channels (a uint8 scalar or a stride-0 view): a plain fill
    elif len(region):
        region[0] = value
        region[1:] = region[0]


def _select(keep: np.ndarray, image: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``np.where(keep[:, :, None], image, value)`` for an (H, W) bool ``keep``, as a new array, fast.

    The result is painted with ``value``, then OpenCV's masked copy writes the kept pixels into it in
    place; numpy's ``where`` broadcasts the (C,) colour one short inner loop per pixel (~50x slower).
    """
    if image.shape[2] > 4:  # OpenCV's masked copy takes a limited number of channels: plain numpy beyond 4
        return np.where(keep[:, :, None], image, value)
    out = np.empty(image.shape, np.uint8)
    _paint(out, value)
    cv2.copyTo(image, keep.view(np.uint8), out)  # out[keep] = image[keep]; dst given, so written in place
    return out


def apply_gridmask(image: np.ndarray, params: GridMaskParams,
                   fill: int | Sequence[int] | str = IMAGENET_MEAN_RGB) -> np.ndarray:
    """Remove the grid of ``params`` from a copy of ``image`` (deterministic).

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`GridMaskParams` to apply (drawn for this H, W).
        fill: colour of removed pixels. The paper multiplies the *normalised* image by M, which leaves the
            dataset mean; the default is the ImageNet mean RGB ``(124, 116, 104)``. Also an int, one int
            per channel, or ``"mean"`` (this image's per-channel mean); 0 gives the black squares of Fig. 1.

    Returns:
        A new (H, W, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((100, 100, 3), 255, np.uint8)
        >>> params = GridMaskParams(d=50, offset=(0, 0), angle=0, ratio=0.6, size=(100, 100))
        >>> float((apply_gridmask(image, params, fill=0) == 255).all(axis=2).mean())
        0.84
    """
    _check_image(image)
    if not isinstance(params, GridMaskParams):
        raise ValueError(f"params must be GridMaskParams (from sample_gridmask_params), got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    value = _fill_value(image, fill)
    if not params.applied:
        return image.copy()
    return _select(params.keep_mask(), image, value)  # x~ = x * M (Eq. 1), removed -> fill


def gridmask(image: np.ndarray, rng: np.random.Generator, *, d_min: int = 96, d_max: int = 224,
             ratio: float = 0.6, rotate: int = 360, p: float = 0.8,
             fill: int | Sequence[int] | str = IMAGENET_MEAN_RGB) -> np.ndarray:
    """GridMask: remove a randomly shifted and rotated grid of squares, keeping 1 - (1 - r)^2 of the image.

    Equivalent to ``apply_gridmask(image, sample_gridmask_params(H, W, rng, ...), fill)``. Pure: the
    input is never modified; the same seed gives the same output. Defaults are the authors' ImageNet
    run (224 x 224 crops); scale ``d_min``/``d_max`` with the image.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey with C = 1, ...).
        rng: the explicit numpy random generator.
        d_min: smallest unit length in pixels (ImageNet: 96).
        d_max: d is drawn from [d_min, d_max) (ImageNet: 224).
        ratio: r, the kept band's relative width (ImageNet: 0.6).
        rotate: rotation drawn from [0, rotate) whole degrees (ImageNet: 360; 1 disables it).
        p: probability of applying the mask (ImageNet: 0.8, reached by :func:`linear_ramp_p`).
        fill: colour of removed pixels (default: ImageNet mean; see :func:`apply_gridmask`).

    Returns:
        The augmented (H, W, C) uint8 array, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((224, 224, 3), 255, np.uint8)
        >>> out = gridmask(image, np.random.default_rng(0), p=1.0, rotate=1, fill=0)
        >>> bool(0.7 < (out == 255).all(axis=2).mean() < 0.95)
        True
    """
    _check_image(image)
    params = sample_gridmask_params(image.shape[0], image.shape[1], rng, d_min=d_min, d_max=d_max, ratio=ratio,
                                    rotate=rotate, p=p)
    return apply_gridmask(image, params, fill)
