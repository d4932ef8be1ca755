"""PCA colour augmentation, "fancy PCA" (Krizhevsky, Sutskever, Hinton: "ImageNet Classification with Deep
Convolutional Neural Networks", NeurIPS 2012, Sec. 4.1).

AlexNet's second data augmentation alters the intensities of the RGB channels: PCA is performed on the
set of RGB pixel values of the ImageNet training set, and to every pixel of an image the same quantity

    ``[p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T``

is added, where p_i and l_i are the i-th eigenvector and eigenvalue of the 3 x 3 covariance of RGB pixel
values and a_i ~ N(0, 0.1) is drawn once per image (each time the image is used). The paper does not print
its eigenvalues; the constants everyone uses come from fb.resnet.torch (``datasets/imagenet.lua``,
"computed from random subset of ImageNet training images", on pixels scaled to [0, 1]) and its
``Lighting(0.1, eigval, eigvec)`` transform (``datasets/transforms.lua``). This entry ships them and adds
the shift on the 0..255 scale (255 times the [0, 1] shift).

The random parameters are drawn by :func:`sample_pca_lighting_params` and applied by the deterministic
:func:`apply_pca_lighting`; :func:`pca_lighting` does both. :func:`rgb_pca` computes the constants for
another dataset.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# fb.resnet.torch datasets/imagenet.lua, "Computed from random subset of ImageNet training images" (pixels
# in [0, 1]). Eigenvalues in decreasing order; IMAGENET_EIGVEC[:, i] (a column) is the eigenvector p_i,
# rows are R, G, B: Lighting adds eigvec * alpha * eigval summed over i (sum(2) over columns).
IMAGENET_EIGVAL: tuple[float, float, float] = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC: tuple[tuple[float, float, float], ...] = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)
ALPHA_STD = 0.1  # Sec. 4.1: "a Gaussian with mean zero and standard deviation 0.1"
PIXEL_SCALE = 255.0  # the constants are for [0, 1] pixels; uint8 images are on 0..255


@dataclass(frozen=True)
class PCALightingParams:
    """The random parameters of one PCA lighting draw.

    Attributes:
        alpha: (a1, a2, a3), the Gaussian multipliers of the three principal components.
        shift: (dR, dG, dB), the quantity added to every pixel, in levels of the 0..255 scale.
    """

    alpha: tuple[float, float, float]
    shift: tuple[float, float, float]


def _as_eigen(eigval: Sequence[float], eigvec: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    val = np.asarray(eigval, dtype=np.float64)
    vec = np.asarray(eigvec, dtype=np.float64)
    if val.shape != (3,) or not np.isfinite(val).all() or (val < 0).any():
        raise ValueError(f"eigval must be 3 finite non-negative numbers, got {eigval!r}")
    if vec.shape != (3, 3) or not np.isfinite(vec).all():
        raise ValueError(f"eigvec must be a 3 x 3 matrix (columns are the eigenvectors), got {eigvec!r}")
    return val, vec


def lighting_shift(alpha: Sequence[float], eigval: Sequence[float] = IMAGENET_EIGVAL,
                   eigvec: Sequence[Sequence[float]] = IMAGENET_EIGVEC, scale: float = PIXEL_SCALE) -> np.ndarray:
    """The RGB quantity ``[p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T`` (Sec. 4.1), times ``scale``.

    Args:
        alpha: the three multipliers a_i.
        eigval: the eigenvalues l_i (for pixels in [0, 1]).
        eigvec: 3 x 3 matrix whose column i is the eigenvector p_i (rows R, G, B).
        scale: pixel range the shift is expressed in (255 for uint8 images, 1 for [0, 1] floats).

    Returns:
        (3,) float64 (dR, dG, dB).

    Examples:
        >>> lighting_shift((1.0, 0.0, 0.0), scale=1.0).round(4).tolist()  # l1 * p1
        [-0.1234, -0.1263, -0.1269]
    """
    val, vec = _as_eigen(eigval, eigvec)
    a = np.asarray(alpha, dtype=np.float64)
    if a.shape != (3,) or not np.isfinite(a).all():
        raise ValueError(f"alpha must be 3 finite numbers, got {alpha!r}")
    return float(scale) * (vec @ (a * val))  # sum_i p_i * a_i * l_i


def sample_pca_lighting_params(rng: np.random.Generator, *, alpha_std: float = ALPHA_STD,
                               eigval: Sequence[float] = IMAGENET_EIGVAL,
                               eigvec: Sequence[Sequence[float]] = IMAGENET_EIGVEC) -> PCALightingParams:
    """Draw a_i ~ N(0, alpha_std) once for the image and compute the RGB shift (0..255 scale).

    Args:
        rng: the explicit numpy random generator.
        alpha_std: standard deviation of the a_i (0.1 in the paper).
        eigval: eigenvalues of the RGB covariance for [0, 1] pixels (default: ImageNet, fb.resnet.torch).
        eigvec: 3 x 3 eigenvectors as columns (default: ImageNet, fb.resnet.torch).

    Returns:
        A :class:`PCALightingParams`.

    Examples:
        >>> q = sample_pca_lighting_params(np.random.default_rng(0))
        >>> len(q.alpha), len(q.shift)
        (3, 3)
    """
    if not (isinstance(alpha_std, numbers.Real) and not isinstance(alpha_std, bool)
            and math.isfinite(alpha_std) and alpha_std >= 0.0):
        raise ValueError(f"alpha_std must be a finite number >= 0, got {alpha_std!r}")
    _as_eigen(eigval, eigvec)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    alpha = rng.normal(0.0, 1.0, 3) * float(alpha_std)  # Sec. 4.1: a_i ~ N(0, 0.1), once per image
    shift = lighting_shift(alpha, eigval, eigvec)
    return PCALightingParams(alpha=tuple(float(a) for a in alpha), shift=tuple(float(s) for s in shift))


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, 3) uint8 array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def apply_pca_lighting(image: np.ndarray, params: PCALightingParams) -> np.ndarray:
    """Add ``params.shift`` to every pixel of a copy of ``image`` (deterministic).

    Args:
        image: (H, W, 3) RGB uint8 array; not modified.
        params: the :class:`PCALightingParams` to apply.

    Returns:
        A new (H, W, 3) uint8 array.

    Shape:
        - Input: (H, W, 3)
        - Output: (H, W, 3)

    Examples:
        >>> image = np.full((2, 2, 3), 100, np.uint8)
        >>> q = PCALightingParams(alpha=(0.0, 0.0, 0.0), shift=(10.4, -3.6, 0.0))
        >>> apply_pca_lighting(image, q)[0, 0].tolist()
        [110, 96, 100]
    """
    _check_image(image)
    if not isinstance(params, PCALightingParams):
        raise ValueError(f"params must be PCALightingParams (from sample_pca_lighting_params), "
                         f"got {type(params).__name__}")
    shift = np.asarray(params.shift, dtype=np.float32)
    if shift.shape != (3,) or not np.isfinite(shift).all():
        raise ValueError(f"params.shift must be 3 finite numbers, got {params.shift!r}")
    # The same RGB quantity is added to every pixel (Sec. 4.1), broadcast over (H, W).
    # Deviation: rounded to the nearest level and clipped to [0, 255] (fb.resnet.torch keeps floats).
    return np.clip(np.rint(image.astype(np.float32) + shift), 0, 255).astype(np.uint8)


def pca_lighting(image: np.ndarray, rng: np.random.Generator, *, alpha_std: float = ALPHA_STD,
                 eigval: Sequence[float] = IMAGENET_EIGVAL,
                 eigvec: Sequence[Sequence[float]] = IMAGENET_EIGVEC) -> np.ndarray:
    """AlexNet's PCA colour augmentation: add ``sum_i a_i l_i p_i`` (a_i ~ N(0, 0.1)) to every pixel.

    Equivalent to ``apply_pca_lighting(image, sample_pca_lighting_params(rng, ...))``. Pure: the input is
    never modified; the same seed gives the same output.

    Args:
        image: (H, W, 3) RGB uint8 array.
        rng: the explicit numpy random generator.
        alpha_std: standard deviation of the a_i (0.1, Sec. 4.1).
        eigval: eigenvalues of the RGB covariance for [0, 1] pixels (ImageNet, fb.resnet.torch).
        eigvec: 3 x 3 eigenvectors as columns, rows R, G, B (ImageNet, fb.resnet.torch).

    Returns:
        The augmented (H, W, 3) uint8 array, a new array.

    Shape:
        - Input: (H, W, 3)
        - Output: (H, W, 3)

    Examples:
        >>> out = pca_lighting(np.full((8, 8, 3), 128, np.uint8), np.random.default_rng(0))
        >>> out.shape, bool((out == out[0, 0]).all())  # one colour shift for the whole image
        ((8, 8, 3), True)
    """
    _check_image(image)
    params = sample_pca_lighting_params(rng, alpha_std=alpha_std, eigval=eigval, eigvec=eigvec)
    return apply_pca_lighting(image, params)


def rgb_pca(images: np.ndarray | Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """PCA of RGB pixel values (Sec. 4.1) on the [0, 1] scale, to compute the constants for a dataset.

    Args:
        images: one (H, W, 3) uint8 RGB image or a sequence of them (all their pixels are pooled).

    Returns:
        (eigval, eigvec): (3,) eigenvalues of the 3 x 3 covariance in decreasing order, and (3, 3) with
        the matching unit eigenvectors as columns (sign as returned by ``numpy.linalg.eigh``).

    Examples:
        >>> val, vec = rgb_pca(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
        >>> bool(val[0] >= val[1] >= val[2] >= 0), bool(np.allclose(vec.T @ vec, np.eye(3)))
        (True, True)
    """
    stack = [images] if isinstance(images, np.ndarray) else list(images)
    if not stack:
        raise ValueError("images must hold at least one image")
    for image in stack:
        _check_image(image)
    pixels = np.concatenate([im.reshape(-1, 3) for im in stack]).astype(np.float64) / PIXEL_SCALE  # (N, 3)
    if pixels.shape[0] < 2:
        raise ValueError("images must hold at least two pixels")
    val, vec = np.linalg.eigh(np.cov(pixels, rowvar=False))  # ascending
    order = np.argsort(val)[::-1]
    return np.clip(val[order], 0.0, None), vec[:, order]
