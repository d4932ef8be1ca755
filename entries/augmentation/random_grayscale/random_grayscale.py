"""Random grayscale, SimCLR's "color dropping" (Chen, Kornblith, Norouzi, Hinton: "A Simple Framework for
Contrastive Learning of Visual Representations", ICML 2020, arXiv:2002.05709, Appendix A).

An image augmentation: with probability ``p = 0.2`` the RGB image is replaced by its luma, repeated in all
three channels, so the output keeps its (H, W, 3) shape with R = G = B. SimCLR's colour distortion is
"composed by color jittering and color dropping" (Appendix A); its PyTorch pseudo-code is
``rnd_gray = transforms.RandomGrayscale(p=0.2)``, and its TensorFlow pseudo-code
``tf.image.rgb_to_grayscale`` followed by ``tf.tile(image, [1, 1, 3])`` under ``random_apply(color_drop,
image, p=0.2)``. The luma is ITU-R BT.601, Y = 0.299 R + 0.587 G + 0.114 B, computed by OpenCV's
``cv2.cvtColor(..., COLOR_RGB2GRAY)`` with rounding (as PIL's ``convert("L")``).

The random parameters are drawn by :func:`sample_random_grayscale_params` and applied by the deterministic
:func:`apply_random_grayscale`; :func:`random_grayscale` does both. All randomness comes from the explicit
``np.random.Generator``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import cv2
import numpy as np

PAPER_P: float = 0.2  # Appendix A: rnd_gray = transforms.RandomGrayscale(p=0.2); random_apply(color_drop, p=0.2)
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)  # ITU-R BT.601 (cv2 RGB2GRAY, PIL "L")
CHANNEL_ORDERS: dict[str, int] = {"rgb": cv2.COLOR_RGB2GRAY, "bgr": cv2.COLOR_BGR2GRAY}


@dataclass(frozen=True)
class RandomGrayscaleParams:
    """The random parameters of one draw.

    Attributes:
        applied: True when the image is converted to grayscale (probability ``p``), else it is unchanged.
        size: (H, W) of the image the parameters were drawn for.
    """

    applied: bool
    size: tuple[int, int]


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def sample_random_grayscale_params(height: int, width: int, rng: np.random.Generator, *,
                                   p: float = PAPER_P) -> RandomGrayscaleParams:
    """Draw whether to drop the colour: ``applied = rng.random() < p`` (one uniform draw).

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        p: probability of converting to grayscale (Appendix A: 0.2).

    Returns:
        A :class:`RandomGrayscaleParams`. The same generator state gives the same parameters.

    Examples:
        >>> q = sample_random_grayscale_params(32, 32, np.random.default_rng(0))
        >>> q.size, isinstance(q.applied, bool)
        ((32, 32), True)
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    applied = bool(rng.random() < p)  # Appendix A: random_apply(color_drop, image, p=0.2)
    return RandomGrayscaleParams(applied=applied, size=(int(height), int(width)))


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
        raise ValueError(f"image must have 3 (RGB) or 1 (grey) channels, got {image.shape[2]}; "
                         f"drop an alpha channel first")


def to_grayscale(image: np.ndarray, channel_order: str = "rgb") -> np.ndarray:
    """The BT.601 luma of ``image`` repeated in every channel: (H, W, 3) -> (H, W, 3) with R = G = B.

    Args:
        image: (H, W, 3) uint8 RGB (or BGR with ``channel_order="bgr"``), or (H, W, 1) grey (returned as a copy).
        channel_order: ``"rgb"`` (default; encyclo's sample images) or ``"bgr"`` (OpenCV's ``imread``).

    Returns:
        A new uint8 array of the input's shape.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> to_grayscale(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8))[0, :, 0]
        array([ 76, 150,  29], dtype=uint8)
    """
    _check_image(image)
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be one of {sorted(CHANNEL_ORDERS)}, got {channel_order!r}")
    if image.shape[2] == 1:
        return image.copy()  # already grey (torchvision: a 1-channel image stays 1-channel)
    # Y = 0.299 R + 0.587 G + 0.114 B, rounded (OpenCV fixed point, as PIL convert("L")); (H, W)
    luma = cv2.cvtColor(np.ascontiguousarray(image), CHANNEL_ORDERS[channel_order])
    # Appendix A: tf.tile(image, [1, 1, 3]) / RandomGrayscale on RGB returns 3 channels with R = G = B.
    return np.repeat(luma[:, :, None], 3, axis=2)  # (H, W, 3)


def apply_random_grayscale(image: np.ndarray, params: RandomGrayscaleParams, channel_order: str = "rgb") -> np.ndarray:
    """Convert ``image`` to 3-channel grayscale if ``params.applied`` (deterministic).

    Args:
        image: (H, W, 3) uint8 RGB (or BGR), or (H, W, 1) grey; not modified.
        params: the :class:`RandomGrayscaleParams` to apply (drawn for this H, W).
        channel_order: ``"rgb"`` (default) or ``"bgr"``: which weight goes to which channel.

    Returns:
        A new uint8 array of the input's shape.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> image = np.array([[[255, 0, 0]]], np.uint8)
        >>> apply_random_grayscale(image, RandomGrayscaleParams(applied=True, size=(1, 1)))
        array([[[76, 76, 76]]], dtype=uint8)
    """
    _check_image(image)
    if not isinstance(params, RandomGrayscaleParams):
        raise ValueError(f"params must be RandomGrayscaleParams (from sample_random_grayscale_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    return _gray(image, params, channel_order)


def _gray(image: np.ndarray, params: RandomGrayscaleParams, channel_order: str) -> np.ndarray:
    """:func:`apply_random_grayscale` without its checks of ``image`` and ``params`` (for callers that made both)."""
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be one of {sorted(CHANNEL_ORDERS)}, got {channel_order!r}")
    return to_grayscale(image, channel_order) if params.applied else image.copy()


def random_grayscale(image: np.ndarray, rng: np.random.Generator, *, p: float = PAPER_P,
                     channel_order: str = "rgb") -> np.ndarray:
    """SimCLR's colour dropping: with probability ``p`` (0.2) replace the image by its luma in all 3 channels.

    Equivalent to ``apply_random_grayscale(image, sample_random_grayscale_params(H, W, rng, p=p), channel_order)``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, 3) uint8 RGB (or BGR), or (H, W, 1) grey (left unchanged, as in torchvision).
        rng: the explicit numpy random generator.
        p: probability of converting; 0.2 (Appendix A).
        channel_order: ``"rgb"`` (default) or ``"bgr"``.

    Returns:
        The uint8 result of the input's shape, a new array.

    Shape:
        - Input: (H, W, C), C in {1, 3}
        - Output: (H, W, C)

    Examples:
        >>> image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        >>> out = random_grayscale(image, np.random.default_rng(0), p=1.0)
        >>> out.shape, bool((out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all())
        ((8, 8, 3), True)
    """
    _check_image(image)
    params = sample_random_grayscale_params(image.shape[0], image.shape[1], rng, p=p)
    return _gray(image, params, channel_order)  # image checked above, params drawn for it: skip apply's re-checks
