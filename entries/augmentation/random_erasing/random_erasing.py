"""Random Erasing (Zhong, Zheng, Kang, Li, Yang: "Random Erasing Data Augmentation", AAAI 2020,
arXiv:1708.04896).

An image augmentation: with probability ``p`` one rectangle of random area and aspect ratio is
erased, its pixels replaced by random values (Sec. 3.1, Algorithm 1). The rectangle's area is
``s_e * H * W`` with ``s_e ~ U(s_l, s_h)`` and its aspect ratio ``r_e ~ U(r_1, 1 / r_1)``; a draw whose
rectangle does not fit in the image is repeated. Defaults ``p=0.5, s_l=0.02, s_h=0.4, r_1=0.3`` are
the paper's (and the authors' code ``zhunzhong07/Random-Erasing``, ``transforms.py``).

The random parameters are drawn by :func:`sample_random_erasing_params` and applied by the
deterministic :func:`apply_random_erasing`; :func:`random_erasing` does both. All randomness comes
from the explicit ``np.random.Generator``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The paper's hyper-parameters (authors' transforms.py defaults: probability=0.5, sl=0.02, sh=0.4, r1=0.3).
PAPER_DEFAULTS: dict[str, float] = {"p": 0.5, "s_l": 0.02, "s_h": 0.4, "r_1": 0.3}
# Attempts before giving up and leaving the image unchanged (authors' code: ``for attempt in range(100)``).
MAX_ATTEMPTS = 100


@dataclass(frozen=True)
class RandomErasingParams:
    """The random parameters of one Random Erasing draw.

    Attributes:
        box: (y1, y2, x1, x2), rows y1:y2 and columns x1:x2 of the erased rectangle ((0, 0, 0, 0) if none).
        size: (H, W) of the image the parameters were drawn for.
        applied: False when nothing is erased (probability 1 - p, or no rectangle fitted in
            ``MAX_ATTEMPTS`` draws); the image is then unchanged.
        noise_seed: seed of the per-pixel random fill (the paper's ``Rand(0, 255)``), so that applying
            the same parameters twice gives the same pixels.
        area_ratio: the drawn s_e (before rounding the sides to whole pixels); 0.0 if not applied.
        aspect_ratio: the drawn r_e = H_e / W_e (before rounding); 0.0 if not applied.
    """

    box: tuple[int, int, int, int]
    size: tuple[int, int]
    applied: bool
    noise_seed: int = 0
    area_ratio: float = 0.0
    aspect_ratio: float = 0.0

    @property
    def area(self) -> int:
        """Number of pixels (per channel) erased."""
        y1, y2, x1, x2 = self.box
        return (y2 - y1) * (x2 - x1) if self.applied else 0


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_real(value: float, name: str, low: float, high: float, *, open_low: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (low < value if open_low else low <= value) and value <= high
    if not ok:
        raise ValueError(f"{name} must be a number in {'(' if open_low else '['}{low}, {high}], got {value!r}")


def sample_random_erasing_params(height: int, width: int, rng: np.random.Generator, *, p: float = 0.5,
                                 s_l: float = 0.02, s_h: float = 0.4, r_1: float = 0.3,
                                 max_attempts: int = MAX_ATTEMPTS) -> RandomErasingParams:
    """Draw the erased rectangle as in Algorithm 1 (with the authors' bounded retry).

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        p: erasing probability (paper: 0.5).
        s_l: minimum erased area ratio S_e / S (paper: 0.02).
        s_h: maximum erased area ratio (paper: 0.4).
        r_1: minimum aspect ratio H_e / W_e; the maximum is 1 / r_1 (paper: 0.3, so r_e in [0.3, 3.33]).
        max_attempts: draws of (s_e, r_e) before giving up (authors' code: 100; the paper retries
            without bound).

    Returns:
        A :class:`RandomErasingParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_random_erasing_params(64, 64, np.random.default_rng(0), p=1.0)
        >>> params.applied and 0.015 < params.area / 64 ** 2 < 0.41
        True
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_positive_int(max_attempts, "max_attempts")
    _check_real(p, "p", 0.0, 1.0)
    _check_real(s_l, "s_l", 0.0, 1.0, open_low=True)
    _check_real(s_h, "s_h", 0.0, 1.0, open_low=True)
    if s_l > s_h:
        raise ValueError(f"s_l must be <= s_h, got s_l={s_l}, s_h={s_h}")
    _check_real(r_1, "r_1", 0.0, 1.0, open_low=True)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    none = RandomErasingParams(box=(0, 0, 0, 0), size=(height, width), applied=False)
    if rng.random() >= p:  # Sec. 3.1: an image is erased with probability p (authors' code: uniform(0, 1) > p)
        return none
    area = height * width  # S = W x H
    for _ in range(max_attempts):  # Sec. 3.1 repeats until the rectangle fits; the authors' code stops after 100
        s_e = float(rng.uniform(s_l, s_h))  # S_e / S ~ U(s_l, s_h)  (Sec. 3.1)
        r_e = float(rng.uniform(r_1, 1.0 / r_1))  # r_e ~ U(r_1, r_2), r_2 = 1 / r_1
        h_e = int(round(math.sqrt(s_e * area * r_e)))  # H_e = sqrt(S_e * r_e)
        w_e = int(round(math.sqrt(s_e * area / r_e)))  # W_e = sqrt(S_e / r_e)
        # Deviation (authors' code, not Sec. 3.1): keep the draw if the rectangle fits (strictly smaller than
        # the image, as in transforms.py), then place it uniformly; the paper draws the corner P = (x_e, y_e)
        # anywhere in the image first and rejects when x_e + W_e > W or y_e + H_e > H.
        if 0 < h_e < height and 0 < w_e < width:
            y1 = int(rng.integers(0, height - h_e + 1))  # random.randint(0, H - h), inclusive
            x1 = int(rng.integers(0, width - w_e + 1))
            seed = int(rng.integers(0, 2**63 - 1))
            return RandomErasingParams(box=(y1, y1 + h_e, x1, x1 + w_e), size=(height, width), applied=True,
                                       noise_seed=seed, area_ratio=s_e, aspect_ratio=r_e)
    return none


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def _fill_patch(image: np.ndarray, params: RandomErasingParams, fill: str | int | Sequence[int]) -> np.ndarray | None:
    """The values written into the rectangle: (h_e, w_e, C) noise for ``"random"``, else a (C,) colour
    (a uint8 scalar when one level fills every channel). ``fill`` is validated even when nothing is
    erased; the noise and the mean are computed only when something is (None otherwise)."""
    channels = image.shape[2]
    if isinstance(fill, str) and (fill == "random" or fill == "mean"):  # the paper's default first
        if not params.applied:
            return None
        if fill == "random":  # Sec. 3.1: "each pixel in I_e is assigned to a random value in [0, 255]"
            y1, y2, x1, x2 = params.box
            return np.random.default_rng(params.noise_seed).integers(0, 256, (y2 - y1, x2 - x1, channels),
                                                                      dtype=np.uint8)
        # "mean": the authors' code fills with a mean colour; here the image's own per-channel mean
        return np.rint(image.reshape(-1, channels).mean(axis=0)).astype(np.uint8)
    if isinstance(fill, (int, np.integer)) and not isinstance(fill, bool) and 0 <= fill <= 255:
        return np.uint8(fill)  # checked without numpy calls (they cost more than a small rectangle)
    message = (f"fill must be 'random', 'mean', an int in [0, 255] or a sequence of {channels} of them; "
               f"got {fill!r}")
    if isinstance(fill, str):
        raise ValueError(message)
    values = np.atleast_1d(np.asarray(fill))
    if (values.dtype.kind not in "iuf" or values.ndim != 1 or values.shape[0] not in (1, channels)
            or np.any(values < 0) or np.any(values > 255) or np.any(values != np.rint(values))):
        raise ValueError(message)
    return np.broadcast_to(values.astype(np.uint8), (channels,))


def _paint(region: np.ndarray, values: np.ndarray) -> None:
    """``region[...] = values`` for an (h, w, C) view and (h, w, C) noise or a (C,) colour, fast.

    numpy broadcasts a (C,) colour with one short inner loop per pixel; painting the first row and then
    copying it to the other rows runs whole rows at a time (hundreds of times faster on large rectangles).
    """
    if values.ndim != 1 or values.strides[0] == 0:
        region[...] = values  # noise, or one level for all channels: a plain copy or fill
    elif len(region):
        region[0] = values
        region[1:] = region[0]


def apply_random_erasing(image: np.ndarray, params: RandomErasingParams,
                         fill: str | int | Sequence[int] = "random") -> np.ndarray:
    """Erase the rectangle of ``params`` in a copy of ``image`` (deterministic).

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`RandomErasingParams` to apply (drawn for this H, W).
        fill: ``"random"`` (the paper: i.i.d. uniform values in [0, 255] per pixel and channel, seeded by
            ``params.noise_seed``), ``"mean"`` (this image's per-channel mean), an int, or one int per channel.

    Returns:
        A new (H, W, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((32, 32, 3), 7, np.uint8)
        >>> params = RandomErasingParams(box=(4, 12, 8, 24), size=(32, 32), applied=True)
        >>> int((apply_random_erasing(image, params, fill=0) == 0).all(axis=2).sum())
        128
    """
    _check_image(image)
    if not isinstance(params, RandomErasingParams):
        raise ValueError(f"params must be RandomErasingParams (from sample_random_erasing_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    return _erase(image, params, fill)


def _erase(image: np.ndarray, params: RandomErasingParams, fill: str | int | Sequence[int]) -> np.ndarray:
    """:func:`apply_random_erasing` without its checks of ``image`` and ``params`` (for callers that made both)."""
    values = _fill_patch(image, params, fill)  # validated even when nothing is erased
    out = image.copy()
    if params.applied:
        y1, y2, x1, x2 = params.box
        _paint(out[y1:y2, x1:x2], values)  # I(I_e) <- fill, one vectorised slice assignment
    return out


def random_erasing(image: np.ndarray, rng: np.random.Generator, *, p: float = 0.5, s_l: float = 0.02,
                   s_h: float = 0.4, r_1: float = 0.3, fill: str | int | Sequence[int] = "random",
                   max_attempts: int = MAX_ATTEMPTS) -> np.ndarray:
    """Random Erasing: with probability p, replace a random rectangle by random values.

    Equivalent to ``apply_random_erasing(image, sample_random_erasing_params(H, W, rng, ...), fill)``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey with C = 1, ...).
        rng: the explicit numpy random generator.
        p: erasing probability (paper: 0.5).
        s_l: minimum erased area ratio (paper: 0.02).
        s_h: maximum erased area ratio (paper: 0.4).
        r_1: minimum aspect ratio, the maximum being 1 / r_1 (paper: 0.3).
        fill: ``"random"`` (paper), ``"mean"``, an int or one int per channel (see :func:`apply_random_erasing`).
        max_attempts: draws before giving up (authors' code: 100).

    Returns:
        The augmented (H, W, C) uint8 array, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.zeros((32, 32, 3), np.uint8)
        >>> out = random_erasing(image, np.random.default_rng(0), p=1.0, fill=255)
        >>> out.shape, out.dtype, bool(0.015 < (out == 255).all(axis=2).mean() < 0.41)
        ((32, 32, 3), dtype('uint8'), True)
    """
    _check_image(image)
    params = sample_random_erasing_params(image.shape[0], image.shape[1], rng, p=p, s_l=s_l, s_h=s_h, r_1=r_1,
                                          max_attempts=max_attempts)
    return _erase(image, params, fill)  # image checked above, params drawn for it: skip apply's re-checks
