"""Hide-and-Seek (Singh, Lee: "Hide-and-Seek: Forcing a Network to be Meticulous for Weakly-supervised
Object and Action Localization", ICCV 2017, arXiv:1704.04232).

An image augmentation: the image is divided into a grid of S x S patches and every patch is hidden
independently with probability ``p_hide`` (Sec. 3.1). A hidden patch is filled with the mean pixel
value of the training data (Sec. 3, "Setting the hidden pixel values"): then a first-layer filter that
falls wholly inside a hidden patch outputs, in expectation, what it outputs on visible data, so the
activation statistics of training (with hiding) and testing (without) agree. The authors' code
(kkanshul/Hide-and-Seek, ``train.lua``, ``hide_patch.py``) draws S per image uniformly from
``{0, 16, 32, 44, 56}`` on 224 x 224 crops (0: nothing hidden), hides with ``hideProb = 0.5`` and
multiplies the *mean-subtracted* input by the mask, i.e. fills with the dataset mean.

The random parameters are drawn by :func:`sample_hide_and_seek_params` and applied by the
deterministic :func:`apply_hide_and_seek`; :func:`hide_and_seek` does both. All randomness comes from
the explicit ``np.random.Generator``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Patch sides the authors' ImageNet models mix (README: ``-patchSize 0,16,32,44,56``; hide_patch.py
# ``grid_sizes=[0,16,32,44,56]``); 0 means "hide nothing" for that image.
PAPER_GRID_SIZES: tuple[int, ...] = (0, 16, 32, 44, 56)
# Hiding probability of every patch (README ``-hideProb 0.5``; hide_patch.py ``hide_prob = 0.5``).
PAPER_P_HIDE: float = 0.5
# ImageNet mean RGB in uint8 levels (0.485, 0.456, 0.406) x 255, rounded: the colour a hidden patch gets
# when, as in the authors' code, the mask multiplies a mean-subtracted image.
IMAGENET_MEAN_RGB: tuple[int, int, int] = (124, 116, 104)


@dataclass(frozen=True)
class HideAndSeekParams:
    """The random parameters of one Hide-and-Seek draw.

    Attributes:
        grid_size: S, the patch side in pixels; 0 when nothing is hidden.
        hidden: (ceil(H / S), ceil(W / S)) bool array, True for a hidden patch ((0, 0) if S = 0);
            read-only. Patches in the last row/column are clipped to the image.
        size: (H, W) of the image the parameters were drawn for.
    """

    grid_size: int
    hidden: np.ndarray
    size: tuple[int, int]

    def pixel_mask(self) -> np.ndarray:
        """(H, W) bool array, True where a pixel is hidden."""
        height, width = self.size
        if self.grid_size == 0:
            return np.zeros((height, width), dtype=bool)
        s = self.grid_size
        # Expand every patch flag to S x S pixels, then clip the last row/column of patches to the image
        # (the authors' ``math.min(opt.cropSize, k + patchLen - 1)``).
        return np.repeat(np.repeat(self.hidden, s, axis=0), s, axis=1)[:height, :width]

    @property
    def hidden_fraction(self) -> float:
        """Fraction of the image's pixels that are hidden."""
        return float(self.pixel_mask().mean())


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_grid_sizes(grid_sizes: int | Sequence[int]) -> tuple[int, ...]:
    sizes = (grid_sizes,) if isinstance(grid_sizes, (int, np.integer)) else tuple(grid_sizes)
    if not sizes or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0 for s in sizes):
        raise ValueError(f"grid_sizes must be a non-negative int or a non-empty sequence of them "
                         f"(0 = hide nothing), got {grid_sizes!r}")
    return tuple(int(s) for s in sizes)


def sample_hide_and_seek_params(height: int, width: int, rng: np.random.Generator, *,
                                grid_sizes: int | Sequence[int] = PAPER_GRID_SIZES,
                                p_hide: float = PAPER_P_HIDE) -> HideAndSeekParams:
    """Draw the patch side S, then which of the S x S patches are hidden.

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        grid_sizes: one patch side, or several to draw from uniformly per image (the authors' mixed
            setting ``(0, 16, 32, 44, 56)``; 0 hides nothing).
        p_hide: probability that a patch is hidden (paper: 0.5).

    Returns:
        A :class:`HideAndSeekParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_hide_and_seek_params(224, 224, np.random.default_rng(0), grid_sizes=32)
        >>> params.grid_size, params.hidden.shape
        (32, (7, 7))
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    sizes = _check_grid_sizes(grid_sizes)
    if not isinstance(p_hide, numbers.Real) or isinstance(p_hide, bool) or not 0.0 <= p_hide <= 1.0:
        raise ValueError(f"p_hide must be a number in [0, 1], got {p_hide!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    s = sizes[int(rng.integers(len(sizes)))]  # one patch side per image, uniformly (train.lua: torch.random)
    if s == 0:  # the authors' "0 indicates no patch will be hidden"
        hidden = np.zeros((0, 0), dtype=bool)
    else:
        rows, cols = math.ceil(height / s), math.ceil(width / s)  # the grid covers the image; last patches clipped
        hidden = rng.random((rows, cols)) < p_hide  # Sec. 3.1: each patch hidden independently with p_hide
    hidden.setflags(write=False)
    return HideAndSeekParams(grid_size=s, hidden=hidden, size=(height, width))


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
    """The (C,) uint8 colour written into hidden patches (a uint8 scalar when one level fills every channel)."""
    channels = image.shape[2]
    if isinstance(fill, (int, np.integer)) and not isinstance(fill, bool) and 0 <= fill <= 255:
        return np.uint8(fill)  # the common cases, checked without numpy calls (they cost more than the mask)
    if (isinstance(fill, (tuple, list)) and len(fill) == channels
            and all(type(v) is int and 0 <= v <= 255 for v in fill)):
        return np.array(fill, np.uint8)
    message = (f"fill must be an int in [0, 255], a sequence of {channels} of them, or 'mean'; got {fill!r}")
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(message)
        return np.rint(image.reshape(-1, channels).mean(axis=0)).astype(np.uint8)  # this image's own mean
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


def apply_hide_and_seek(image: np.ndarray, params: HideAndSeekParams,
                        fill: int | Sequence[int] | str = IMAGENET_MEAN_RGB) -> np.ndarray:
    """Hide the patches of ``params`` in a copy of ``image`` (deterministic).

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`HideAndSeekParams` to apply (drawn for this H, W).
        fill: the colour of hidden patches. The paper uses the mean pixel of the training data (Sec. 3);
            the default is the ImageNet mean RGB ``(124, 116, 104)``. Also an int, one int per channel,
            or ``"mean"`` (this image's per-channel mean).

    Returns:
        A new (H, W, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((4, 4, 3), 200, np.uint8)
        >>> hidden = np.array([[True, False], [False, False]])
        >>> out = apply_hide_and_seek(image, HideAndSeekParams(2, hidden, (4, 4)), fill=0)
        >>> int((out == 0).all(axis=2).sum())
        4
    """
    _check_image(image)
    if not isinstance(params, HideAndSeekParams):
        raise ValueError(f"params must be HideAndSeekParams (from sample_hide_and_seek_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    value = _fill_value(image, fill)
    # One vectorised select: a new array, the input is untouched.
    return _select(~params.pixel_mask(), image, value)  # (H, W) kept pixels; hidden ones get the fill


def hide_and_seek(image: np.ndarray, rng: np.random.Generator, *,
                  grid_sizes: int | Sequence[int] = PAPER_GRID_SIZES, p_hide: float = PAPER_P_HIDE,
                  fill: int | Sequence[int] | str = IMAGENET_MEAN_RGB) -> np.ndarray:
    """Hide-and-Seek: hide every S x S patch of the image independently with probability p_hide.

    Equivalent to ``apply_hide_and_seek(image, sample_hide_and_seek_params(H, W, rng, ...), fill)``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey with C = 1, ...).
        rng: the explicit numpy random generator.
        grid_sizes: patch side S, or sides drawn uniformly per image (default: the authors' mixed
            ImageNet setting ``(0, 16, 32, 44, 56)`` for 224 x 224 crops; scale them with the image).
        p_hide: probability of hiding each patch (paper: 0.5).
        fill: colour of hidden patches (default: ImageNet mean RGB; see :func:`apply_hide_and_seek`).

    Returns:
        The augmented (H, W, C) uint8 array, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.zeros((224, 224, 3), np.uint8)
        >>> out = hide_and_seek(image, np.random.default_rng(0), grid_sizes=16, fill=255)
        >>> out.shape, bool(0.3 < (out == 255).all(axis=2).mean() < 0.7)
        ((224, 224, 3), True)
    """
    _check_image(image)
    params = sample_hide_and_seek_params(image.shape[0], image.shape[1], rng, grid_sizes=grid_sizes, p_hide=p_hide)
    return apply_hide_and_seek(image, params, fill)
