"""Random crop with padding, the CIFAR augmentation of ResNet (He, Zhang, Ren, Sun: "Deep Residual Learning
for Image Recognition", CVPR 2016, arXiv:1512.03385, Sec. 4.2).

An image augmentation: "4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the
padded image or its horizontal flip" (Sec. 4.2, following Lee et al.'s Deeply-Supervised Nets). Pad the
H x W image by ``padding`` pixels on every side, then cut an ``out_h`` x ``out_w`` window (by default the
input size) at a uniformly random offset: top in 0..H + 2 * padding - out_h, left likewise, i.e.
0..2 * padding for the default output size, a shift of up to ``padding`` pixels in each direction.

The horizontal flip of the paper is the ``horizontal_flip`` entry; ``flip=True`` adds it here (p = 0.5),
off by default so that the two compose without flipping twice. The padding is zeros (black), as in the
common implementations (torchvision ``RandomCrop(32, padding=4)``, whose ``fill`` defaults to 0; the Torch7
``transforms.lua`` of ResNet reimplementations, "optional zero padding"); the paper does not name the value.
``padding_mode`` offers torchvision's other modes.

The random parameters are drawn by :func:`sample_random_crop_params` and applied by the deterministic
:func:`apply_random_crop`; :func:`random_crop` does both. All randomness comes from the explicit
``np.random.Generator``; the pixel work is vectorised numpy (slices, ``np.pad``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PAPER_PADDING = 4  # Sec. 4.2: "4 pixels are padded on each side"
PAPER_CROP = 32  # Sec. 4.2: "a 32x32 crop" (CIFAR images are 32 x 32: the output keeps the input size)
# torchvision's padding modes, which are numpy's np.pad mode names; "constant" pads with ``fill``.
PADDING_MODES: tuple[str, ...] = ("constant", "edge", "reflect", "symmetric")


@dataclass(frozen=True)
class RandomCropParams:
    """The random parameters of one crop.

    Attributes:
        offset: (top, left) of the window in the *padded* image, each uniform in 0..padded - out.
        padding: pixels added on every side before cropping.
        size: (H, W) of the image the parameters were drawn for.
        output_size: (out_h, out_w) of the window.
        flipped: True when the window is also mirrored left-to-right (only with ``flip=True``).
    """

    offset: tuple[int, int]
    padding: int
    size: tuple[int, int]
    output_size: tuple[int, int]
    flipped: bool = False

    @property
    def shift(self) -> tuple[int, int]:
        """(dy, dx) translation of the image content: ``out[y, x] = padded[y + top, x + left]``, so the input
        pixel (y, x) lands at (y + padding - top, x + padding - left); (0, 0) is the centred crop."""
        return self.padding - self.offset[0], self.padding - self.offset[1]


def _check_int(value: int, name: str, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _output_size(size: int | Sequence[int] | None, height: int, width: int) -> tuple[int, int]:
    if size is None:
        return height, width  # the paper's CIFAR setting: 32 x 32 in, 32 x 32 out
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        _check_int(size, "size", 1)
        return int(size), int(size)
    if isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 2:
        _check_int(size[0], "size[0]", 1)
        _check_int(size[1], "size[1]", 1)
        return int(size[0]), int(size[1])
    raise ValueError(f"size must be None (the input size), a positive int or a (height, width) pair, got {size!r}")


def sample_random_crop_params(height: int, width: int, rng: np.random.Generator, *,
                              size: int | Sequence[int] | None = None, padding: int = PAPER_PADDING,
                              flip: bool = False) -> RandomCropParams:
    """Draw the window offset uniformly over the padded image (and, with ``flip=True``, a fair coin).

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        size: output side (int) or (height, width); None (default) keeps the input size, as the paper's
            32 x 32 crop of a 32 x 32 CIFAR image.
        padding: pixels padded on each side (Sec. 4.2: 4).
        flip: also mirror the window with probability 0.5 (Sec. 4.2's "or its horizontal flip");
            False by default, the flip being the ``horizontal_flip`` entry.

    Returns:
        A :class:`RandomCropParams`. Draw order: top, left, then the flip coin (only when ``flip``).

    Examples:
        >>> q = sample_random_crop_params(32, 32, np.random.default_rng(0))
        >>> 0 <= q.offset[0] <= 8 and 0 <= q.offset[1] <= 8 and q.output_size == (32, 32)
        True
    """
    _check_int(height, "height", 1)
    _check_int(width, "width", 1)
    _check_int(padding, "padding", 0)
    out_h, out_w = _output_size(size, height, width)
    if not isinstance(flip, (bool, np.bool_)):
        raise ValueError(f"flip must be a bool, got {flip!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    padded_h, padded_w = height + 2 * padding, width + 2 * padding
    if out_h > padded_h or out_w > padded_w:
        raise ValueError(f"crop size {(out_h, out_w)} is larger than the padded image {(padded_h, padded_w)}; "
                         f"increase padding or reduce size")
    top = int(rng.integers(0, padded_h - out_h + 1))  # Sec. 4.2: crop "randomly sampled" (uniform offset)
    left = int(rng.integers(0, padded_w - out_w + 1))
    flipped = bool(rng.random() < 0.5) if flip else False  # "or its horizontal flip", a fair coin
    return RandomCropParams(offset=(top, left), padding=int(padding), size=(int(height), int(width)),
                            output_size=(out_h, out_w), flipped=flipped)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


_LEVELS = tuple(np.uint8(level) for level in range(256))  # the uint8 scalars an int fill maps to


def _fill_value(fill: int | Sequence[int], channels: int) -> np.ndarray:
    """The (C,) uint8 colour of constant padding (a uint8 scalar when one level fills every channel)."""
    if type(fill) is int and 0 <= fill <= 255:  # the common case, checked without numpy calls
        return _LEVELS[fill]  # (they would cost more than a small crop)
    values = np.atleast_1d(np.asarray(fill))
    if (values.dtype.kind not in "iuf" or values.ndim != 1 or values.shape[0] not in (1, channels)
            or np.any(values < 0) or np.any(values > 255) or np.any(values != np.rint(values))):
        raise ValueError(f"fill must be an int in [0, 255] or a sequence of {channels} of them, got {fill!r}")
    return np.broadcast_to(values.astype(np.uint8), (channels,))


def _paint(region: np.ndarray, value: np.ndarray) -> None:
    """``region[...] = value`` for an (h, w, C) array and a (C,) colour, fast.

    numpy broadcasts a (C,) colour with one short inner loop per pixel; painting the first row and then
    copying it to the other rows runs whole rows at a time (hundreds of times faster on large windows).
    """
    if value.ndim == 0 or value.strides[0] == 0:
        region[...] = value  # one level for all channels (a uint8 scalar or a stride-0 view): a plain fill
    elif len(region):
        region[0] = value
        region[1:] = region[0]


def apply_random_crop(image: np.ndarray, params: RandomCropParams, padding_mode: str = "constant",
                      fill: int | Sequence[int] = 0) -> np.ndarray:
    """Cut the window ``params.offset`` + ``params.output_size`` out of the padded image (deterministic).

    With constant padding only the window is built (the part inside the image is one slice, the rest is
    ``fill``); the other modes pad the whole image with ``np.pad`` and slice. Either way the result equals
    cropping the fully padded image.

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`RandomCropParams` to apply (drawn for this H, W).
        padding_mode: ``"constant"`` (default: ``fill``, zeros as in the usual CIFAR pipelines),
            ``"edge"`` (repeat the border pixel), ``"reflect"`` (mirror without repeating the border pixel)
            or ``"symmetric"`` (mirror repeating it): torchvision's / numpy's modes.
        fill: the colour of constant padding, an int or one int per channel (default 0, black).

    Returns:
        A new (out_h, out_w, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (out_h, out_w, C), ``params.output_size`` (the input size by default)

    Examples:
        >>> image = np.full((4, 4, 1), 9, np.uint8)
        >>> q = RandomCropParams(offset=(0, 0), padding=2, size=(4, 4), output_size=(4, 4))
        >>> apply_random_crop(image, q)[..., 0]
        array([[0, 0, 0, 0],
               [0, 0, 0, 0],
               [0, 0, 9, 9],
               [0, 0, 9, 9]], dtype=uint8)
    """
    _check_image(image)
    if not isinstance(params, RandomCropParams):
        raise ValueError(f"params must be RandomCropParams (from sample_random_crop_params), got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    return _crop(image, params, padding_mode, fill, check_window=True)


def _crop(image: np.ndarray, params: RandomCropParams, padding_mode: str, fill: int | Sequence[int],
          check_window: bool = False) -> np.ndarray:
    """:func:`apply_random_crop` without its checks of ``image`` and ``params`` (for callers that made both)."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    height, width, channels = image.shape
    pad = params.padding
    if padding_mode == "reflect" and pad > 0 and pad >= min(height, width):
        raise ValueError(f"reflect padding needs padding < min(H, W) = {min(height, width)}, got {pad}")
    if padding_mode == "symmetric" and pad > min(height, width):
        raise ValueError(f"symmetric padding needs padding <= min(H, W) = {min(height, width)}, got {pad}")
    top, left = params.offset
    out_h, out_w = params.output_size
    # Window in image coordinates: rows y0..y1-1, columns x0..x1-1 (may reach up to ``pad`` outside).
    y0, x0 = top - pad, left - pad
    y1, x1 = y0 + out_h, x0 + out_w
    if check_window and not (-pad <= y0 and y1 <= height + pad and -pad <= x0 and x1 <= width + pad):
        raise ValueError(f"params window {params.offset} + {params.output_size} lies outside the padded image")
    if padding_mode == "constant":
        # (Plain Python comparisons, not min/max or numpy scalars: on a 32 x 32 CIFAR image the bookkeeping
        # costs as much as the copy, and this path must stay as fast as the plain numpy pad-and-slice.)
        if type(fill) is int and fill == 0:  # Sec. 4.2 "4 pixels are padded": zeros by default
            out = np.zeros((out_h, out_w, channels), np.uint8)
        else:
            out = np.empty((out_h, out_w, channels), np.uint8)
            _paint(out, _fill_value(fill, channels))
        # The part of the window inside the image: rows iy0..iy1-1, columns ix0..ix1-1 (empty when the window
        # lies wholly in the padding, which a window smaller than the padding can).
        iy0 = 0 if y0 < 0 else (y0 if y0 < height else height)
        iy1 = height if y1 > height else (y1 if y1 > 0 else 0)
        ix0 = 0 if x0 < 0 else (x0 if x0 < width else width)
        ix1 = width if x1 > width else (x1 if x1 > 0 else 0)
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = image[iy0:iy1, ix0:ix1]
    else:
        # Other modes need the image beyond the window's inner part: pad the full image, then slice.
        _fill_value(fill, channels)  # unused here, but a bad fill is an error in every mode
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode=padding_mode)
        out = padded[top:top + out_h, left:left + out_w].copy()
    if params.flipped:
        # Sec. 4.2 "or its horizontal flip": mirroring the window equals cropping the flipped padded image
        # at the mirrored offset, and the offset is uniform, so the distribution is the paper's.
        out = np.ascontiguousarray(out[:, ::-1])
    return out


def random_crop(image: np.ndarray, rng: np.random.Generator, *, size: int | Sequence[int] | None = None,
                padding: int = PAPER_PADDING, padding_mode: str = "constant", fill: int | Sequence[int] = 0,
                flip: bool = False) -> np.ndarray:
    """Pad-and-crop (ResNet Sec. 4.2): pad ``padding`` pixels on each side, cut a random window.

    Equivalent to ``apply_random_crop(image, sample_random_crop_params(H, W, rng, ...), padding_mode, fill)``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (any channel count).
        rng: the explicit numpy random generator.
        size: output side or (height, width); None (default) keeps the input size (32 -> 32 on CIFAR).
        padding: pixels padded on each side; 4 (Sec. 4.2).
        padding_mode: ``"constant"`` (default), ``"edge"``, ``"reflect"`` or ``"symmetric"``.
        fill: constant padding colour (default 0, black).
        flip: also mirror the window with probability 0.5 (Sec. 4.2); False by default, use the
            ``horizontal_flip`` entry or set True.

    Returns:
        The (out_h, out_w, C) uint8 crop, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C) by default; (size, size, C) or (size[0], size[1], C)

    Examples:
        >>> out = random_crop(np.zeros((32, 32, 3), np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((32, 32, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_random_crop_params(image.shape[0], image.shape[1], rng, size=size, padding=padding, flip=flip)
    return _crop(image, params, padding_mode, fill)  # image checked above, params drawn for it: skip re-checks
