"""FMix (Harris, Marcu, Painter, Niranjan, Prügel-Bennett, Hare: "FMix: Enhancing Mixed Sample Data Augmentation",
arXiv:2002.12047, 2020).

A masking batch augmentation like CutMix, but the mask is a random binary image with large, smooth,
arbitrarily shaped regions (Sec. 3): a complex Gaussian spectrum is scaled by 1 / f^delta, transformed back
to a low-frequency grey image, and its top lambda * H * W pixels are set to 1 (keep the image), the rest
to 0 (take the partner image). lambda ~ Beta(alpha, alpha). One mask, one lambda and one pairing are drawn
per batch, as in the authors' code (ecs-vlc/FMix ``fmix.py``: ``sample_mask``, ``sample_and_apply``).

The random parameters are drawn by :func:`sample_fmix_params` and applied by the deterministic
:func:`apply_fmix`; :func:`fmix` does both. All randomness comes from the explicit ``torch.Generator``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

# Candidates per Gamma draw in the vectorised Marsaglia-Tsang sampler. Each is accepted with
# probability > 0.95, so all 16 fail with probability < 1e-20 (then the mode-like value d is used).
_GAMMA_CANDIDATES = 16


@dataclass(frozen=True)
class FmixParams:
    """The random parameters of one FMix draw.

    Attributes:
        lam: 0-dim float32 tensor, the mean of the binary mask (the fraction of pixels each image keeps):
            the label weight of the original image.
        lam_sampled: 0-dim float32 tensor, the Beta(alpha, alpha) draw; ``lam`` is
            round(lam_sampled * H * W) / (H * W).
        perm: (N,) int64 tensor; the masked-out pixels of image i come from image ``perm[i]``.
        mask: (H, W) bool tensor, True where the image keeps its own pixel (the binary mask of Sec. 3).
        size: the (H, W) the mask was sampled for.
    """

    lam: torch.Tensor
    lam_sampled: torch.Tensor
    perm: torch.Tensor
    mask: torch.Tensor
    size: tuple[int, int]


def _log_standard_gamma(shape_param: float, size: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """log of Gamma(shape_param, 1) draws, using only ``generator`` (Marsaglia & Tsang, 2000).

    ``torch.distributions`` and ``torch._standard_gamma`` take no generator, so the classic
    squeeze-free Marsaglia-Tsang method is vectorised: draw a fixed number of candidates, keep the first
    accepted one (no data-dependent loop). Shapes below 1 use the boost Gamma(a) = Gamma(a + 1) U^(1/a).
    Everything stays in log space so tiny shapes do not underflow to 0.
    """
    device = generator.device
    boost = shape_param < 1.0
    d = (shape_param + 1.0 if boost else shape_param) - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    x = torch.randn((*size, _GAMMA_CANDIDATES), generator=generator, device=device)
    u = 1.0 - torch.rand((*size, _GAMMA_CANDIDATES), generator=generator, device=device)  # in (0, 1]
    v = (1.0 + c * x) ** 3
    log_v = torch.log(v.clamp_min(torch.finfo(v.dtype).tiny))
    accept = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * log_v)
    first = accept.to(torch.uint8).argmax(dim=-1, keepdim=True)  # index of the first accepted candidate
    log_gamma = math.log(d) + log_v.gather(-1, first).squeeze(-1)
    log_gamma = torch.where(accept.any(dim=-1), log_gamma, math.log(d))  # all rejected: p < 1e-20
    if boost:
        u_boost = 1.0 - torch.rand(size, generator=generator, device=device)  # in (0, 1]
        log_gamma = log_gamma + torch.log(u_boost) / shape_param
    return log_gamma


def sample_beta(alpha: float, generator: torch.Generator, size: tuple[int, ...] = ()) -> torch.Tensor:
    """Draw lambda ~ Beta(alpha, alpha) with an explicit generator, on the generator's device.

    Beta(a, a) = G1 / (G1 + G2) = sigmoid(log G1 - log G2) for independent G1, G2 ~ Gamma(a, 1).

    Args:
        alpha: the concentration alpha > 0 (alpha = 1 is Uniform(0, 1)).
        generator: the random generator; the draw is made on its device.
        size: the shape of the returned tensor (``()`` for one draw).

    Returns:
        A float32 tensor of shape ``size`` with values in [0, 1].

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> lam = sample_beta(1.0, g, (10000,))
        >>> abs(lam.mean().item() - 0.5) < 0.02
        True
    """
    if not (isinstance(alpha, numbers.Real) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    log_gamma = _log_standard_gamma(float(alpha), (2, *size), generator)
    return torch.sigmoid(log_gamma[0] - log_gamma[1])




def low_frequency_image(height: int, width: int, decay_power: float, generator: torch.Generator) -> torch.Tensor:
    """A grey image sampled from Fourier space with a 1 / f^delta spectrum (Sec. 3), on the generator's device.

    A complex spectrum Z with independent standard Gaussian real and imaginary parts is scaled by
    1 / max(f, 1 / max(H, W))^delta, f = sqrt(f_x^2 + f_y^2) the frequency magnitude in cycles per pixel
    (the floor keeps the zero frequency finite, as in the authors' ``get_spectrum``), and the real inverse
    DFT gives the image. Larger delta removes more high frequencies: smoother, blobbier masks.

    Args:
        height: H of the image.
        width: W of the image.
        decay_power: delta > 0, the decay exponent of the spectrum (the paper uses 3).
        generator: the random generator; the image is drawn on its device.

    Returns:
        An (H, W) float32 tensor (its scale is arbitrary: only the order of its values is used).

    Examples:
        >>> low_frequency_image(32, 48, 3.0, torch.Generator().manual_seed(0)).shape
        torch.Size([32, 48])
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    if not (isinstance(decay_power, numbers.Real) and math.isfinite(decay_power) and decay_power > 0):
        raise ValueError(f"decay_power must be a finite number > 0, got {decay_power!r}")
    device = generator.device
    fy = torch.fft.fftfreq(height, device=device)[:, None]  # (H, 1) cycles per pixel
    fx = torch.fft.rfftfreq(width, device=device)[None, :]  # (1, W // 2 + 1): half spectrum of a real image
    freqs = torch.sqrt(fx * fx + fy * fy)  # (H, W // 2 + 1)
    scale = freqs.clamp_min(1.0 / max(height, width)).pow(-float(decay_power))  # Sec. 3: 1 / f^delta
    parts = torch.randn((2, height, width // 2 + 1), generator=generator, device=device)  # Re, Im ~ N(0, 1)
    spectrum = torch.complex(parts[0] * scale, parts[1] * scale)  # (H, W // 2 + 1) complex64
    return torch.fft.irfft2(spectrum, s=(height, width))  # (H, W): the real low-frequency image


def binarise(image: torch.Tensor, lam: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Set the top round(lam * H * W) pixels of ``image`` to True and the rest to False (Sec. 3).

    Args:
        image: (H, W) real tensor (a :func:`low_frequency_image`).
        lam: the target mean in [0, 1] (float or 0-dim tensor).

    Returns:
        ``(mask, mean)``: the (H, W) bool mask and its exact mean, a 0-dim float32 tensor.

    Examples:
        >>> mask, mean = binarise(torch.arange(10.0).reshape(2, 5), 0.3)
        >>> mask.int().tolist(), float(mean)
        ([[0, 0, 0, 0, 0], [0, 0, 1, 1, 1]], 0.30000001192092896)
    """
    height, width = image.shape
    total = height * width
    lam = torch.as_tensor(lam, dtype=torch.float32, device=image.device).clamp(0.0, 1.0)
    # Deviation: round(lam HW) pixels; the authors take ceil or floor at random (fmix.py, binarise_mask).
    count = torch.round(lam * total).long()
    order = torch.argsort(image.flatten(), descending=True)  # pixel indices, brightest first
    rank = torch.empty_like(order).scatter_(0, order, torch.arange(total, device=image.device))  # rank of each pixel
    mask = (rank < count).reshape(height, width)  # (H, W): the top `count` pixels; no host sync
    return mask, count.to(torch.float32) / float(total)


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")




def sample_fmix_params(batch_size: int, height: int, width: int, alpha: float, generator: torch.Generator,
                       decay_power: float = 3.0) -> FmixParams:
    """Draw lambda, the Fourier mask and the pairing for one batch (Sec. 3), on the generator's device.

    Args:
        batch_size: N, the number of images in the batch (> 0).
        height: H of the images.
        width: W of the images.
        alpha: the Beta concentration alpha > 0 (the paper and the authors' code use 1).
        generator: the explicit random generator; parameters are drawn on its device.
        decay_power: delta, the spectrum's decay exponent (the paper and the authors' code use 3).

    Returns:
        A :class:`FmixParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_fmix_params(4, 32, 32, 1.0, torch.Generator().manual_seed(0))
        >>> params.mask.shape, params.mask.dtype
        (torch.Size([32, 32]), torch.bool)
    """
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    lam_sampled = sample_beta(alpha, generator)  # lambda ~ Beta(alpha, alpha), one per batch
    image = low_frequency_image(height, width, decay_power, generator)  # Sec. 3: low-frequency grey image
    mask, lam = binarise(image, lam_sampled)  # Sec. 3: top lambda proportion -> 1, the rest -> 0
    perm = torch.randperm(batch_size, generator=generator, device=generator.device)  # partner (authors' code)
    return FmixParams(lam=lam, lam_sampled=lam_sampled, perm=perm, mask=mask, size=(height, width))


def _check_batch(images: torch.Tensor, targets: torch.Tensor, num_classes: int) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, C, H, W) tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a floating-point tensor (float32, bfloat16, float16), got {images.dtype}")
    if images.shape[0] == 0 or images.shape[2] == 0 or images.shape[3] == 0:
        raise ValueError(f"images must be a non-empty batch of non-empty images, got {tuple(images.shape)}")
    if not isinstance(targets, torch.Tensor) or targets.ndim != 1 or targets.shape[0] != images.shape[0]:
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"targets must be a (N,) tensor of class indices with N = {images.shape[0]}, got {shape}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f"targets must hold integer class indices (e.g. int64), got {targets.dtype}")
    _check_positive_int(num_classes, "num_classes")
    if not torch.compiler.is_compiling():  # a value check needs one device sync; skipped under torch.compile
        if bool(((targets < 0) | (targets >= num_classes)).any()):
            raise ValueError(f"targets must lie in [0, {num_classes - 1}], got values in "
                             f"[{int(targets.min())}, {int(targets.max())}]")


def _one_hot(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) int -> (N, K) float32 one-hot, built with scatter (no range check, no sync)."""
    out = torch.zeros(targets.shape[0], num_classes, dtype=torch.float32, device=targets.device)
    return out.scatter(1, targets.long()[:, None], 1.0)




def apply_fmix(images: torch.Tensor, targets: torch.Tensor, params: FmixParams,
               num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each image with its partner through the binary mask and mix the labels by the mask mean.

    x~ = M * x_i + (1 - M) * x_perm[i] and y~ = lam * y_i + (1 - lam) * y_perm[i], lam = mean(M).

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`FmixParams` to apply (sampled for this H, W; moved to the images' device).
        num_classes: K, the width of the soft targets.

    Returns:
        ``(mixed_images, soft_targets)``: the images in the input dtype (pixels are copied, never blended)
        and the (N, K) float32 soft targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.zeros(2, 1, 2, 2), torch.tensor([0, 1])
        >>> x[1] = 1.0
        >>> mask = torch.tensor([[True, True], [True, False]])
        >>> params = FmixParams(lam=torch.tensor(0.75), lam_sampled=torch.tensor(0.75),
        ...                     perm=torch.tensor([1, 0]), mask=mask, size=(2, 2))
        >>> mixed, soft = apply_fmix(x, y, params, num_classes=2)
        >>> mixed[0, 0].tolist(), soft[0].tolist()
        ([[0.0, 0.0], [0.0, 1.0]], [0.75, 0.25])
    """
    _check_batch(images, targets, num_classes)
    n, _, height, width = images.shape
    if not isinstance(params, FmixParams) or params.perm.shape != (n,) or params.mask.shape != (height, width):
        raise ValueError(f"params must be FmixParams with a ({n},) perm and a ({height}, {width}) mask "
                         f"(from sample_fmix_params for this batch and size)")
    return _mix(images, targets, params, num_classes)


def _mix(images: torch.Tensor, targets: torch.Tensor, params: FmixParams,
         num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    device = images.device
    perm = params.perm.to(device)
    keep = params.mask.to(device)  # (H, W): M of the paper
    mixed = torch.where(keep, images, images[perm])  # x~ = M x_i + (1 - M) x_j, (N, C, H, W)
    lam = params.lam.to(device=device, dtype=torch.float32)  # exactly mean(M)
    onehot = _one_hot(targets.to(device), num_classes)  # (N, K)
    soft = lam * onehot + (1.0 - lam) * onehot[perm]  # y~ = lam y_i + (1 - lam) y_j
    return mixed, soft


def fmix(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
         alpha: float = 1.0, decay_power: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    """FMix a batch: sample a low-frequency binary mask of mean lambda ~ Beta(alpha, alpha) and mix through it.

    Equivalent to ``apply_fmix(images, targets, sample_fmix_params(N, H, W, alpha, generator, decay_power),
    num_classes)``. Pure: the inputs are never modified; the same generator seed gives the same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        alpha: the Beta concentration alpha > 0 (1, the paper's setting, makes lambda uniform).
        decay_power: delta > 0, the spectrum's decay exponent (3, the paper's setting).

    Returns:
        ``(mixed_images, soft_targets)`` with soft targets of shape (N, K), float32, whose weights equal the
        pixel proportions exactly.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = fmix(x, y, num_classes=10, generator=g)
        >>> mixed.shape, soft.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
    """
    _check_batch(images, targets, num_classes)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    n, _, height, width = images.shape
    params = sample_fmix_params(n, height, width, alpha, generator, decay_power)
    return _mix(images, targets, params, num_classes)  # inputs already checked (one range check, one sync)
