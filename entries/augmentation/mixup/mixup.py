"""mixup (Zhang, Cisse, Dauphin, Lopez-Paz: "mixup: Beyond Empirical Risk Minimization", ICLR 2018, arXiv:1710.09412).

A batch augmentation: every image is blended with another image of the batch, and its one-hot label
with that image's label, by the same weight lambda ~ Beta(alpha, alpha) (Sec. 2). As in the authors'
code (facebookresearch/mixup-cifar10, ``mixup_data``), one lambda is drawn per batch and the partner of
image i is image perm[i] for a random permutation of the batch.

The random parameters are drawn by :func:`sample_mixup_params` and applied by the deterministic
:func:`apply_mixup`; :func:`mixup` does both. All randomness comes from the explicit ``torch.Generator``.
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
class MixupParams:
    """The random parameters of one mixup draw.

    Attributes:
        lam: 0-dim float32 tensor, the mixing weight lambda of the original image (Sec. 2). It stays a
            tensor on the generator's device so sampling never synchronises; ``float(params.lam)`` reads it.
        perm: (N,) int64 tensor; image i is mixed with image ``perm[i]`` (a random permutation of the
            batch, as in the authors' code, so an image may be paired with itself).
    """

    lam: torch.Tensor
    perm: torch.Tensor


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


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def sample_mixup_params(batch_size: int, alpha: float, generator: torch.Generator, p: float = 1.0) -> MixupParams:
    """Draw lambda ~ Beta(alpha, alpha) (Sec. 2) and the pairing permutation, on the generator's device.

    Args:
        batch_size: N, the number of images in the batch (> 0).
        alpha: the Beta concentration alpha > 0. The authors' code defaults to 1.0 (lambda uniform);
            the paper finds alpha in [0.1, 0.4] best on ImageNet (Sec. 3.1).
        generator: the explicit random generator; parameters are drawn on its device.
        p: probability of mixing this batch at all; when it does not, lambda = 1 (the identity).
            Not in the paper (which always mixes); the default 1.0 is the paper's behaviour.

    Returns:
        A :class:`MixupParams` (lam, perm). The same generator state gives the same parameters.

    Examples:
        >>> params = sample_mixup_params(4, 1.0, torch.Generator().manual_seed(0))
        >>> params.perm.shape, params.lam.shape
        (torch.Size([4]), torch.Size([]))
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int (mixup needs a non-empty batch), got {batch_size!r}")
    _check_probability(p)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    lam = sample_beta(alpha, generator)  # Sec. 2: lambda ~ Beta(alpha, alpha), one per batch (authors' code)
    apply = torch.rand((), generator=generator, device=generator.device) < p
    lam = torch.where(apply, lam, torch.ones_like(lam))  # not applied: lambda = 1 is the identity
    perm = torch.randperm(batch_size, generator=generator, device=generator.device)  # partner of image i
    return MixupParams(lam=lam, perm=perm)


def _check_batch(images: torch.Tensor, targets: torch.Tensor, num_classes: int) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, C, H, W) tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a floating-point tensor (float32, bfloat16, float16), got {images.dtype}")
    if images.shape[0] == 0:
        raise ValueError("images is an empty batch (N = 0); mixup needs at least one image")
    if not isinstance(targets, torch.Tensor) or targets.ndim != 1 or targets.shape[0] != images.shape[0]:
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"targets must be a (N,) tensor of class indices with N = {images.shape[0]}, got {shape}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f"targets must hold integer class indices (e.g. int64), got {targets.dtype}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if not torch.compiler.is_compiling():  # a value check needs one device sync; skipped under torch.compile
        if bool(((targets < 0) | (targets >= num_classes)).any()):
            raise ValueError(f"targets must lie in [0, {num_classes - 1}], got values in "
                             f"[{int(targets.min())}, {int(targets.max())}]")


def _one_hot(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) int -> (N, K) float32 one-hot, built with scatter (no range check, no sync)."""
    out = torch.zeros(targets.shape[0], num_classes, dtype=torch.float32, device=targets.device)
    return out.scatter(1, targets.long()[:, None], 1.0)


def apply_mixup(images: torch.Tensor, targets: torch.Tensor, params: MixupParams,
                num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix a batch with given parameters (deterministic): x~ = lam x_i + (1 - lam) x_j, y~ likewise (Sec. 2).

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`MixupParams` to apply (moved to the images' device if needed).
        num_classes: K, the width of the soft targets.

    Returns:
        ``(mixed_images, soft_targets)``: the mixed images in the input dtype and the (N, K) float32 soft
        targets lam * onehot(y_i) + (1 - lam) * onehot(y_perm[i]). In bfloat16/float16 the pixels are
        weighted by lam rounded to that dtype, and the soft targets use that same rounded lam, so labels
        always carry exactly the weight the pixels received.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.rand(2, 3, 4, 4), torch.tensor([0, 1])
        >>> params = MixupParams(lam=torch.tensor(0.75), perm=torch.tensor([1, 0]))
        >>> mixed, soft = apply_mixup(x, y, params, num_classes=3)
        >>> soft[0].tolist()
        [0.75, 0.25, 0.0]
    """
    _check_batch(images, targets, num_classes)
    n = images.shape[0]
    if not isinstance(params, MixupParams) or params.perm.shape != (n,) or params.lam.ndim != 0:
        raise ValueError(f"params must be MixupParams with a 0-dim lam and a ({n},) perm (from sample_mixup_params)")
    return _mix(images, targets, params, num_classes)


def _mix(images: torch.Tensor, targets: torch.Tensor, params: MixupParams,
         num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    perm = params.perm.to(images.device)
    lam = params.lam.to(device=images.device, dtype=images.dtype)  # the weight the pixels actually get
    # Sec. 2: x~ = lam x_i + (1 - lam) x_j with x_j = x[perm]. lerp(start, end, w) = start + w (end - start)
    # is exact at w = 0 and w = 1, so lam = 1 returns the input bit for bit.
    mixed = torch.lerp(images[perm], images, lam)  # (N, C, H, W)
    lam32 = lam.to(torch.float32)
    onehot = _one_hot(targets.to(images.device), num_classes)  # (N, K)
    soft = lam32 * onehot + (1.0 - lam32) * onehot[perm]  # Sec. 2: y~ = lam y_i + (1 - lam) y_j
    return mixed, soft


def mixup(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
          alpha: float = 1.0, p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """mixup a batch: sample lambda ~ Beta(alpha, alpha) and a pairing, then mix images and labels (Sec. 2).

    Equivalent to ``apply_mixup(images, targets, sample_mixup_params(N, alpha, generator, p), num_classes)``.
    Pure: the inputs are never modified; the same generator seed gives the same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        alpha: the Beta concentration alpha > 0; 1.0 is the authors' code default (lambda uniform on
            [0, 1]); the paper uses alpha in [0.1, 0.4] on ImageNet (Sec. 3.1).
        p: probability of mixing the batch (1.0, the paper, always mixes).

    Returns:
        ``(mixed_images, soft_targets)`` with soft targets of shape (N, K), float32, rows summing to 1.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = mixup(x, y, num_classes=10, generator=g)
        >>> mixed.shape, soft.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
    """
    _check_batch(images, targets, num_classes)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    params = sample_mixup_params(images.shape[0], alpha, generator, p)
    return _mix(images, targets, params, num_classes)  # inputs already checked (one range check, one sync)
