"""Random horizontal flip (Krizhevsky, Sutskever, Hinton: "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012, Sec. 4.1 "Data Augmentation").

An image augmentation: with probability ``p`` the image is mirrored left-to-right (column ``x`` moves to
``W - 1 - x``), otherwise it is returned unchanged. AlexNet's first form of data augmentation "consists of
generating image translations and horizontal reflections": random 224 x 224 patches "(and their
horizontal reflections)", which enlarges the training set "by a factor of 2048" (32 x 32 translations x
2 reflections, Sec. 4.1). Counting each patch and its reflection once each makes the two equally likely,
so ``p = 0.5``; SimCLR (Appendix A) states the same flip "with 50% probability", and torchvision's
``RandomHorizontalFlip`` defaults to it. The translations are the crop, see the ``random_crop`` and
``random_resized_crop`` entries.

The random parameters are drawn by :func:`sample_horizontal_flip_params` and applied by the
deterministic :func:`apply_horizontal_flip`; :func:`horizontal_flip` does both. All randomness comes
from the explicit ``np.random.Generator``; the pixel work is OpenCV's ``cv2.flip``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import cv2
import numpy as np

# Sec. 4.1: a patch and its horizontal reflection are counted once each (factor 2 of the 2048), i.e. p = 0.5.
PAPER_P: float = 0.5
REFLECTIONS_PER_PATCH = 2  # Sec. 4.1: 2048 = 32 x 32 translations x 2 (the patch and its reflection)


@dataclass(frozen=True)
class HorizontalFlipParams:
    """The random parameters of one flip draw.

    Attributes:
        flipped: True when the image is mirrored (probability ``p``), False when it is left unchanged.
        size: (H, W) of the image the parameters were drawn for.
        vertical: True to mirror top-to-bottom instead (not in the paper; default False).
    """

    flipped: bool
    size: tuple[int, int]
    vertical: bool = False


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def sample_horizontal_flip_params(height: int, width: int, rng: np.random.Generator, *, p: float = PAPER_P,
                                  vertical: bool = False) -> HorizontalFlipParams:
    """Draw whether to flip: ``flipped = rng.random() < p`` (one uniform draw).

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        p: probability of flipping (Sec. 4.1: a patch and its reflection equally likely, 0.5).
        vertical: mirror top-to-bottom instead of left-to-right. Not in the paper (AlexNet reflects
            horizontally only; a vertical flip changes the meaning of most natural photos).

    Returns:
        A :class:`HorizontalFlipParams`. The same generator state gives the same parameters.

    Examples:
        >>> q = sample_horizontal_flip_params(32, 32, np.random.default_rng(0))
        >>> q.size, isinstance(q.flipped, bool)
        ((32, 32), True)
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if not isinstance(vertical, (bool, np.bool_)):
        raise ValueError(f"vertical must be a bool, got {vertical!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    flipped = bool(rng.random() < p)  # Sec. 4.1: the patch or its horizontal reflection
    return HorizontalFlipParams(flipped=flipped, size=(int(height), int(width)), vertical=bool(vertical))


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def apply_horizontal_flip(image: np.ndarray, params: HorizontalFlipParams) -> np.ndarray:
    """Mirror ``image`` if ``params.flipped`` (deterministic); ``out[:, x] = image[:, W - 1 - x]``.

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`HorizontalFlipParams` to apply (drawn for this H, W).

    Returns:
        A new (H, W, C) uint8 array (a copy also when not flipped).

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.arange(6, dtype=np.uint8).reshape(1, 3, 2)
        >>> apply_horizontal_flip(image, HorizontalFlipParams(flipped=True, size=(1, 3)))[0, :, 0]
        array([4, 2, 0], dtype=uint8)
    """
    _check_image(image)
    if not isinstance(params, HorizontalFlipParams):
        raise ValueError(f"params must be HorizontalFlipParams (from sample_horizontal_flip_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    return _flip(image, params)


def _flip(image: np.ndarray, params: HorizontalFlipParams) -> np.ndarray:
    """:func:`apply_horizontal_flip` without its checks of ``image`` and ``params`` (for callers that made both)."""
    if not params.flipped:
        return image.copy()
    # cv2.flip: flipCode 1 mirrors around the vertical axis (left-right), 0 around the horizontal axis.
    out = cv2.flip(np.ascontiguousarray(image), 0 if params.vertical else 1)
    return out.reshape(image.shape)  # cv2 drops a single channel axis: restore (H, W, C)


def horizontal_flip(image: np.ndarray, rng: np.random.Generator, *, p: float = PAPER_P,
                    vertical: bool = False) -> np.ndarray:
    """Random horizontal flip (AlexNet, Sec. 4.1): mirror the image left-to-right with probability ``p``.

    Equivalent to ``apply_horizontal_flip(image, sample_horizontal_flip_params(H, W, rng, p=p, vertical=vertical))``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (any channel count).
        rng: the explicit numpy random generator.
        p: probability of flipping; 0.5 (a patch and its reflection equally likely, Sec. 4.1).
        vertical: flip top-to-bottom instead (not in the paper; default False).

    Returns:
        The (H, W, C) uint8 result, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
        >>> out = horizontal_flip(image, np.random.default_rng(0), p=1.0)
        >>> bool((out == image[:, ::-1]).all()), out.dtype
        (True, dtype('uint8'))
    """
    _check_image(image)
    params = sample_horizontal_flip_params(image.shape[0], image.shape[1], rng, p=p, vertical=vertical)
    return _flip(image, params)  # image checked above, params drawn for it: skip apply's re-checks
