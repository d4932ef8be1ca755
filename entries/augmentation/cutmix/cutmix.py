"""CutMix (Yun, Han, Oh, Chun, Choe, Yoo: "CutMix: Regularization Strategy to Train Strong Classifiers with
Localizable Features", ICCV 2019, arXiv:1905.04899).

A batch augmentation: a box of every image is replaced by the same box of its partner image, and the
labels are mixed in proportion to the areas (Sec. 3.1, Eq. 1). lambda ~ Beta(alpha, alpha) sets the box
size r_w = W sqrt(1 - lambda), r_h = H sqrt(1 - lambda) (Eq. 2); the box centre is uniform over the image
and the box is clipped to it, after which lambda is recomputed as the exact kept-area ratio (Appendix A,
Algorithm A1, line 15; authors' code clovaai/CutMix-PyTorch ``train.py``), so the label weights always
equal the pixel proportions.

The random parameters are drawn by :func:`sample_cutmix_params` and applied by the deterministic
:func:`apply_cutmix`; :func:`cutmix` does both. All randomness comes from the explicit ``torch.Generator``.
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
class CutmixParams:
    """The random parameters of one CutMix draw.

    Attributes:
        lam: 0-dim float32 tensor, the kept-area ratio 1 - (box area) / (H W) after clipping (Algorithm A1,
            line 15): the label weight of the original image.
        lam_sampled: 0-dim float32 tensor, the Beta(alpha, alpha) draw that set the box size (Eq. 2).
        perm: (N,) int64 tensor; the box of image i is filled from image ``perm[i]``.
        box: (4,) int64 tensor ``[y1, y2, x1, x2]``: rows y1:y2 and columns x1:x2 are pasted (may be empty).
        size: the (H, W) the box was sampled for.
    """

    lam: torch.Tensor
    lam_sampled: torch.Tensor
    perm: torch.Tensor
    box: torch.Tensor
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
        alpha: the concentration alpha > 0 (alpha = 1, the paper's setting, is Uniform(0, 1)).
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


def cut_size(lam: torch.Tensor | float, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Box height and width for a combination ratio lambda, before clipping (Eq. 2).

    r_h = H sqrt(1 - lambda), r_w = W sqrt(1 - lambda), truncated to whole pixels as the authors' code
    does (``np.int(W * cut_rat)``), so the box covers a fraction ~(1 - lambda) of the image.

    Args:
        lam: lambda in [0, 1] (a float or a 0-dim tensor).
        height: H, the image height.
        width: W, the image width.

    Returns:
        ``(cut_h, cut_w)`` as int64 tensors.

    Examples:
        >>> [int(s) for s in cut_size(0.75, 32, 32)]  # Sec. 4.1.3: 16 x 16 boxes on CIFAR are lambda = 0.75
        [16, 16]
    """
    lam = torch.as_tensor(lam, dtype=torch.float32)
    cut_ratio = torch.sqrt((1.0 - lam).clamp(0.0, 1.0))  # Eq. 2: sqrt(1 - lambda)
    cut_h = torch.floor(height * cut_ratio).long()  # r_h = H sqrt(1 - lambda)
    cut_w = torch.floor(width * cut_ratio).long()  # r_w = W sqrt(1 - lambda)
    return cut_h, cut_w


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def sample_cutmix_params(batch_size: int, height: int, width: int, alpha: float, generator: torch.Generator,
                         p: float = 1.0) -> CutmixParams:
    """Draw lambda, the box and the pairing for one batch (Sec. 3.1), on the generator's device.

    Args:
        batch_size: N, the number of images in the batch (> 0).
        height: H of the images.
        width: W of the images.
        alpha: the Beta concentration alpha > 0; the paper sets alpha = 1 in all experiments (Sec. 3.1).
        generator: the explicit random generator; parameters are drawn on its device.
        p: probability of applying CutMix to this batch; when it does not, the box is empty and lambda = 1.
            The authors' training script calls this ``cutmix_prob`` (README: 0.5 for CIFAR-100, 1.0 for
            ImageNet); the default 1.0 is the paper's "in each training iteration".

    Returns:
        A :class:`CutmixParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_cutmix_params(4, 32, 32, 1.0, torch.Generator().manual_seed(0))
        >>> params.box.shape, params.perm.shape
        (torch.Size([4]), torch.Size([4]))
    """
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    _check_probability(p)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    lam_sampled = sample_beta(alpha, generator)  # Sec. 3.1: lambda ~ Beta(alpha, alpha), one per batch
    cut_h, cut_w = cut_size(lam_sampled, height, width)  # Eq. 2
    cy = torch.randint(0, height, (), generator=generator, device=device)  # Eq. 2: r_y ~ Unif(0, H)
    cx = torch.randint(0, width, (), generator=generator, device=device)  # Eq. 2: r_x ~ Unif(0, W)
    apply = torch.rand((), generator=generator, device=device) < p
    perm = torch.randperm(batch_size, generator=generator, device=device)  # partner of image i (authors' code)
    # Box centred on (r_y, r_x), clipped to the image (Algorithm A1, lines 10-13). The far edge is the
    # near edge + r (deviation: the authors' code uses centre + r // 2, one pixel short for odd r).
    y1, x1 = cy - cut_h // 2, cx - cut_w // 2
    y2, x2 = (y1 + cut_h).clamp(0, height), (x1 + cut_w).clamp(0, width)
    y1, x1 = y1.clamp(0, height), x1.clamp(0, width)
    y2 = torch.where(apply, y2, y1)  # not applied: an empty box
    box = torch.stack([y1, y2, x1, x2])  # (4,) int64
    # Algorithm A1, line 15: lambda = 1 - (x2 - x1)(y2 - y1) / (W H), the exact kept-area ratio.
    lam = 1.0 - ((y2 - y1) * (x2 - x1)).to(torch.float32) / float(height * width)
    return CutmixParams(lam=lam, lam_sampled=lam_sampled, perm=perm, box=box, size=(height, width))


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


def apply_cutmix(images: torch.Tensor, targets: torch.Tensor, params: CutmixParams,
                 num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste the box from each partner image and mix the labels by area (Eq. 1), deterministically.

    x~ = M * x_A + (1 - M) * x_B with M = 0 inside the box (x_B = images[perm]) and
    y~ = lam * y_A + (1 - lam) * y_B with lam the kept-area ratio.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`CutmixParams` to apply (sampled for this H, W; moved to the images' device).
        num_classes: K, the width of the soft targets.

    Returns:
        ``(mixed_images, soft_targets)``: the images in the input dtype (pixels are copied, never
        blended) and the (N, K) float32 soft targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.zeros(2, 1, 4, 4), torch.tensor([0, 1])
        >>> x[1] = 1.0
        >>> params = CutmixParams(lam=torch.tensor(0.75), lam_sampled=torch.tensor(0.75),
        ...                       perm=torch.tensor([1, 0]), box=torch.tensor([0, 2, 0, 2]), size=(4, 4))
        >>> mixed, soft = apply_cutmix(x, y, params, num_classes=2)
        >>> mixed[0, 0].sum().item(), soft[0].tolist()
        (4.0, [0.75, 0.25])
    """
    _check_batch(images, targets, num_classes)
    n, _, height, width = images.shape
    if not isinstance(params, CutmixParams) or params.perm.shape != (n,) or params.box.shape != (4,):
        raise ValueError(f"params must be CutmixParams with a ({n},) perm and a (4,) box (from sample_cutmix_params)")
    if tuple(params.size) != (height, width):
        raise ValueError(f"params were sampled for images of size {tuple(params.size)}, got {(height, width)}")
    return _paste(images, targets, params, num_classes)


def _paste(images: torch.Tensor, targets: torch.Tensor, params: CutmixParams,
           num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    _, _, height, width = images.shape
    device = images.device
    perm = params.perm.to(device)
    y1, y2, x1, x2 = params.box.to(device).unbind()
    rows = torch.arange(height, device=device)[:, None]  # (H, 1)
    cols = torch.arange(width, device=device)[None, :]  # (1, W)
    inside = (rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)  # (H, W): 1 - M of Eq. 1
    mixed = torch.where(inside, images[perm], images)  # Eq. 1: M x_A + (1 - M) x_B, (N, C, H, W)
    lam = params.lam.to(device=device, dtype=torch.float32)
    onehot = _one_hot(targets.to(device), num_classes)  # (N, K)
    soft = lam * onehot + (1.0 - lam) * onehot[perm]  # Eq. 1: y~ = lam y_A + (1 - lam) y_B
    return mixed, soft


def cutmix(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
           alpha: float = 1.0, p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix a batch: sample a box from lambda ~ Beta(alpha, alpha), paste it across pairs, mix labels by area.

    Equivalent to ``apply_cutmix(images, targets, sample_cutmix_params(N, H, W, alpha, generator, p),
    num_classes)``. Pure: the inputs are never modified; the same generator seed gives the same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        alpha: the Beta concentration alpha > 0; the paper uses alpha = 1 (lambda uniform, Sec. 3.1).
        p: probability of applying CutMix to the batch (the authors' ``cutmix_prob``; 1.0 always applies).

    Returns:
        ``(mixed_images, soft_targets)`` with soft targets of shape (N, K), float32, whose weights equal
        the pixel proportions exactly.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = cutmix(x, y, num_classes=10, generator=g)
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
    params = sample_cutmix_params(n, height, width, alpha, generator, p)
    return _paste(images, targets, params, num_classes)  # inputs already checked (one range check, one sync)
