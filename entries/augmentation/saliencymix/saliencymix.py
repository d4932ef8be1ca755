"""SaliencyMix (Uddin, Monira, Shin, Chung, Bae: "SaliencyMix: A Saliency Guided Data Augmentation Strategy for
Better Regularization", ICLR 2021, arXiv:2006.01791).

CutMix with an informed box position: the patch cut from the source image is centred on the peak of the
source's saliency map, so that it contains the object, and is pasted at the same place in the target image
("Salient to Corresponding", Sec. 3); the labels are mixed by the pasted area. lambda ~ Beta(beta, beta) sets
the patch size as in CutMix (r = sqrt(1 - lambda) of each side), and lambda is recomputed from the clipped
box (authors' code SaliencyMix/SaliencyMix ``saliencymix.py``).

The authors compute the saliency map with OpenCV-contrib's ``StaticSaliencyFineGrained`` (Montabone & Soto,
2010), which ``opencv-python(-headless)`` does not ship. This entry uses the spectral-residual saliency of
Hou & Zhang (CVPR 2007), implemented with ``torch.fft`` (:func:`spectral_residual_saliency`); see the README.

The random parameters are drawn by :func:`sample_saliencymix_params` (which reads the images: the box position
depends on them) and applied by the deterministic :func:`apply_saliencymix`; :func:`saliencymix` does both.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Candidates per Gamma draw in the vectorised Marsaglia-Tsang sampler. Each is accepted with
# probability > 0.95, so all 16 fail with probability < 1e-20 (then the mode-like value d is used).
_GAMMA_CANDIDATES = 16

# Spectral residual (Hou & Zhang 2007): the map is computed on a small fixed-size grey image.
_SALIENCY_SIZE = 64  # working resolution (OpenCV's StaticSaliencySpectralResidual also uses 64 x 64)
_RESIDUAL_KERNEL = 3  # h_n: n x n mean filter on the log amplitude spectrum, n = 3
_SMOOTH_SIGMA = 8.0  # g: Gaussian smoothing of the squared map, sigma = 8 px at the working resolution


@dataclass(frozen=True)
class SaliencymixParams:
    """The parameters of one SaliencyMix draw.

    Attributes:
        lam: (N,) float32 tensor, per image the kept-area ratio 1 - (box area) / (H W) after clipping: the label
            weight of the original (target) image.
        lam_sampled: 0-dim float32 tensor, the Beta(beta, beta) draw that set the patch size.
        perm: (N,) int64 tensor; image i receives its patch from source image ``perm[i]``.
        centers: (N, 2) int64 tensor ``[row, col]``, the saliency peak of source ``perm[i]`` (the box centre).
        boxes: (N, 4) int64 tensor ``[y1, y2, x1, x2]`` per image: rows y1:y2, columns x1:x2 are pasted.
        size: the (H, W) the boxes were sampled for.
    """

    lam: torch.Tensor
    lam_sampled: torch.Tensor
    perm: torch.Tensor
    centers: torch.Tensor
    boxes: torch.Tensor
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




def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = min(int(math.ceil(3.0 * sigma)), _SALIENCY_SIZE // 2 - 1)  # fits reflect padding
    t = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    return kernel / kernel.sum()  # (2 radius + 1,)


def spectral_residual_saliency(images: torch.Tensor) -> torch.Tensor:
    """Spectral-residual saliency maps (Hou & Zhang, CVPR 2007), batched with ``torch.fft``.

    On the grey image resized to 64 x 64: A = log |FFT|, P = angle(FFT); the spectral residual
    R = A - h_3 * A (3 x 3 mean filter); S = g_sigma * |IFFT(exp(R + i P))|^2 (Gaussian, sigma = 8 px);
    S is then resized back to (H, W) bilinearly. Deterministic; no parameters are learnt.

    Args:
        images: (N, C, H, W) floating-point images (any value range; channels are averaged to grey).

    Returns:
        (N, H, W) float32 saliency maps (non-negative; larger is more salient).

    Shape:
        - images: (N, C, H, W) -> (N, H, W)

    Examples:
        >>> x = 0.2 * torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
        >>> x[:, :, 30:36, 10:16] = 1.0  # one small bright square on a textured background
        >>> s = spectral_residual_saliency(x)
        >>> row, col = divmod(int(s[0].argmax()), 48)
        >>> 27 <= row <= 38 and 7 <= col <= 18
        True
    """
    n, _, height, width = images.shape
    grey = images.float().mean(1, keepdim=True)  # (N, 1, H, W)
    size = (_SALIENCY_SIZE, _SALIENCY_SIZE)
    small = F.interpolate(grey, size=size, mode="bilinear", align_corners=False,
                          antialias=height > _SALIENCY_SIZE or width > _SALIENCY_SIZE)  # (N, 1, 64, 64)
    spectrum = torch.fft.fft2(small)  # (N, 1, 64, 64) complex
    log_amplitude = torch.log(spectrum.abs().clamp_min(1e-8))  # A(f) = log |F(f)|
    phase = torch.angle(spectrum)  # P(f)
    pad = _RESIDUAL_KERNEL // 2
    averaged = F.avg_pool2d(F.pad(log_amplitude, (pad, pad, pad, pad), mode="replicate"), _RESIDUAL_KERNEL, stride=1)
    residual = log_amplitude - averaged  # R(f) = A(f) - h_n(f) * A(f)
    saliency = torch.fft.ifft2(torch.polar(torch.exp(residual), phase)).abs().square()  # |F^-1[exp(R + iP)]|^2
    kernel = _gaussian_kernel(_SMOOTH_SIGMA, images.device)
    r = kernel.numel() // 2
    saliency = F.conv2d(F.pad(saliency, (r, r, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))  # g * S, rows
    saliency = F.conv2d(F.pad(saliency, (0, 0, r, r), mode="reflect"), kernel.view(1, 1, -1, 1))  # then columns
    saliency = F.interpolate(saliency, size=(height, width), mode="bilinear", align_corners=False)  # (N, 1, H, W)
    return saliency[:, 0].clamp_min(0.0)  # (N, H, W)


def cut_size(lam: torch.Tensor | float, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch height and width for lambda, before clipping: r_h = H sqrt(1 - lambda), r_w = W sqrt(1 - lambda).

    Truncated to whole pixels as in the authors' ``saliency_bbox`` (``np.int(W * cut_rat)``), as in CutMix.

    Args:
        lam: lambda in [0, 1] (a float or a 0-dim tensor).
        height: H, the image height.
        width: W, the image width.

    Returns:
        ``(cut_h, cut_w)`` as int64 tensors.

    Examples:
        >>> [int(s) for s in cut_size(0.75, 32, 32)]
        [16, 16]
    """
    lam = torch.as_tensor(lam, dtype=torch.float32)
    cut_ratio = torch.sqrt((1.0 - lam).clamp(0.0, 1.0))
    return torch.floor(height * cut_ratio).long(), torch.floor(width * cut_ratio).long()


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")




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




def sample_saliencymix_params(images: torch.Tensor, beta: float, generator: torch.Generator,
                              p: float = 1.0) -> SaliencymixParams:
    """Draw lambda and the pairing, and place each patch on its source's saliency peak (Sec. 3).

    Args:
        images: (N, C, H, W) floating-point images: the saliency maps of the sources decide the box positions.
        beta: the Beta concentration > 0 for lambda ~ Beta(beta, beta) (the authors' ``--beta``, 1.0).
        generator: the explicit random generator; its device must be the images' device type.
        p: probability of mixing this batch; when it does not, every box is empty and lambda = 1 (the authors'
            ``--salmix_prob``, 0.5 in their CIFAR commands; the default 1.0 always mixes).

    Returns:
        A :class:`SaliencymixParams`. The same images and generator state give the same parameters.

    Examples:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> params = sample_saliencymix_params(x, 1.0, torch.Generator().manual_seed(0))
        >>> params.boxes.shape, params.lam.shape
        (torch.Size([4, 4]), torch.Size([4]))
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point() \
            or 0 in images.shape:
        raise ValueError("images must be a non-empty (N, C, H, W) floating-point tensor")
    _check_probability(p)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    n, _, height, width = images.shape
    device = images.device
    lam_sampled = sample_beta(beta, generator).to(device)  # lambda ~ Beta(beta, beta), one per batch
    apply = (torch.rand((), generator=generator, device=generator.device) < p).to(device)
    perm = torch.randperm(n, generator=generator, device=generator.device).to(device)  # source of image i
    cut_h, cut_w = cut_size(lam_sampled, height, width)  # as CutMix: r = sqrt(1 - lambda) of each side
    # Sec. 3: the saliency map of each source, then its peak pixel (argmax of I_vs).
    saliency = spectral_residual_saliency(images[perm])  # (N, H, W); deviation: spectral residual, see README
    peak = saliency.flatten(1).argmax(1)  # (N,)
    cy, cx = peak // width, peak % width  # (N,), (N,)
    # Box centred on the peak, clipped to the image; the far edge is the near edge + r (deviation: the
    # authors' code uses centre + r // 2, one pixel short for odd r, as in CutMix's reference code).
    y1, x1 = cy - cut_h // 2, cx - cut_w // 2
    y2, x2 = (y1 + cut_h).clamp(0, height), (x1 + cut_w).clamp(0, width)
    y1, x1 = y1.clamp(0, height), x1.clamp(0, width)
    y2 = torch.where(apply, y2, y1)  # not applied: empty boxes
    boxes = torch.stack([y1, y2, x1, x2], dim=1)  # (N, 4) int64
    lam = 1.0 - ((y2 - y1) * (x2 - x1)).to(torch.float32) / float(height * width)  # exact kept-area ratio
    return SaliencymixParams(lam=lam, lam_sampled=lam_sampled, perm=perm, centers=torch.stack([cy, cx], 1),
                             boxes=boxes, size=(height, width))


def apply_saliencymix(images: torch.Tensor, targets: torch.Tensor, params: SaliencymixParams,
                      num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste each source's salient box at the same place in its target and mix the labels by area.

    x~_i = M_i * x_i + (1 - M_i) * x_perm[i] with M_i = 0 inside box i; y~_i = lam_i y_i + (1 - lam_i) y_perm[i].

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`SaliencymixParams` to apply (sampled for this batch; moved to the images' device).
        num_classes: K, the width of the soft targets.

    Returns:
        ``(mixed_images, soft_targets)``: the images in the input dtype (pixels are copied, never blended)
        and the (N, K) float32 soft targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.zeros(2, 1, 4, 4), torch.tensor([0, 1])
        >>> x[1] = 1.0
        >>> params = SaliencymixParams(lam=torch.tensor([0.75, 1.0]), lam_sampled=torch.tensor(0.75),
        ...     perm=torch.tensor([1, 0]), centers=torch.tensor([[1, 1], [0, 0]]),
        ...     boxes=torch.tensor([[0, 2, 0, 2], [0, 0, 0, 0]]), size=(4, 4))
        >>> mixed, soft = apply_saliencymix(x, y, params, num_classes=2)
        >>> mixed[0, 0].sum().item(), soft[0].tolist()
        (4.0, [0.75, 0.25])
    """
    _check_batch(images, targets, num_classes)
    n, _, height, width = images.shape
    if not isinstance(params, SaliencymixParams) or params.perm.shape != (n,) or params.boxes.shape != (n, 4):
        raise ValueError(f"params must be SaliencymixParams with a ({n},) perm and ({n}, 4) boxes "
                         f"(from sample_saliencymix_params)")
    if tuple(params.size) != (height, width):
        raise ValueError(f"params were sampled for images of size {tuple(params.size)}, got {(height, width)}")
    return _paste(images, targets, params, num_classes)


def _paste(images: torch.Tensor, targets: torch.Tensor, params: SaliencymixParams,
           num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    _, _, height, width = images.shape
    device = images.device
    perm = params.perm.to(device)
    y1, y2, x1, x2 = params.boxes.to(device).unbind(1)  # each (N,)
    rows = torch.arange(height, device=device)[None, :, None]  # (1, H, 1)
    cols = torch.arange(width, device=device)[None, None, :]  # (1, 1, W)
    inside = ((rows >= y1[:, None, None]) & (rows < y2[:, None, None])
              & (cols >= x1[:, None, None]) & (cols < x2[:, None, None]))  # (N, H, W): 1 - M_i
    mixed = torch.where(inside[:, None], images[perm], images)  # "Salient to Corresponding", (N, C, H, W)
    lam = params.lam.to(device=device, dtype=torch.float32)[:, None]  # (N, 1)
    onehot = _one_hot(targets.to(device), num_classes)  # (N, K)
    soft = lam * onehot + (1.0 - lam) * onehot[perm]  # y~ = lam y_t + (1 - lam) y_s
    return mixed, soft


def saliencymix(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
                beta: float = 1.0, p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """SaliencyMix a batch: paste each source's most salient box into its target, mix labels by area.

    Equivalent to ``apply_saliencymix(images, targets, sample_saliencymix_params(images, beta, generator, p),
    num_classes)``. Pure: the inputs are never modified; the same generator seed gives the same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        beta: the Beta concentration > 0 (the authors' ``--beta``, 1.0: lambda uniform).
        p: probability of mixing the batch (the authors' ``--salmix_prob``; 1.0 always mixes).

    Returns:
        ``(mixed_images, soft_targets)`` with soft targets of shape (N, K), float32, whose weights equal the
        pixel proportions exactly.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = saliencymix(x, y, num_classes=10, generator=g)
        >>> mixed.shape, soft.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
    """
    _check_batch(images, targets, num_classes)
    params = sample_saliencymix_params(images, beta, generator, p)
    return _paste(images, targets, params, num_classes)  # inputs already checked (one range check, one sync)
