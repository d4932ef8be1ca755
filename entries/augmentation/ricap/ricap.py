"""RICAP, random image cropping and patching (Takahashi, Matsubara, Uehara: "Data Augmentation using Random Image
Cropping and Patching for Deep CNNs", IEEE TCSVT 2020, arXiv:1811.09030; conference version ACML 2018).

Every training image is replaced by a patchwork of four crops from four images: a boundary point (w, h),
drawn from Beta(beta, beta) along each axis, splits the output into four regions (upper left, upper right,
lower left, lower right); region k is filled with a random crop of the same size from image k, and the label
mixes the four one-hot labels in proportion to the region areas, W_k = w_k h_k / (I_x I_y) (Sec. III-A).
As in the paper's reference code (appendix), the four images of each output are taken from four independent
random permutations of the batch, one boundary and one crop position per region are drawn per batch.

The random parameters are drawn by :func:`sample_ricap_params` and applied by the deterministic
:func:`apply_ricap`; :func:`ricap` does both. All randomness comes from the explicit ``torch.Generator``.
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
class RicapParams:
    """The random parameters of one RICAP draw.

    Attributes:
        boundary: (2,) int64 tensor ``[h, w]``: rows < h are the upper regions, columns < w the left ones.
        perms: (4, N) int64 tensor; region k of output i comes from image ``perms[k, i]`` (k = 0 upper left,
            1 upper right, 2 lower left, 3 lower right).
        offsets: (4, 2) int64 tensor ``[y_k, x_k]``, the top-left corner of the crop in the source image.
        weights: (4,) float32 tensor, W_k = w_k h_k / (I_x I_y), the label weight of region k (sums to 1).
        size: the (H, W) the parameters were sampled for.
    """

    boundary: torch.Tensor
    perms: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor
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




def region_sizes(boundary: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The crop sizes of the four regions for a boundary (h, w) (Sec. III-A).

    w_1 = w_3 = w, w_2 = w_4 = I_x - w, h_1 = h_2 = h, h_3 = h_4 = I_y - h.

    Args:
        boundary: (2,) int tensor ``[h, w]``.
        height: I_y, the image height.
        width: I_x, the image width.

    Returns:
        ``(heights, widths)``, two (4,) int64 tensors in region order (UL, UR, LL, LR).

    Examples:
        >>> hs, ws = region_sizes(torch.tensor([10, 24]), 32, 32)
        >>> hs.tolist(), ws.tolist()
        ([10, 10, 22, 22], [24, 8, 24, 8])
    """
    h, w = boundary.long().unbind()
    heights = torch.stack([h, h, height - h, height - h])
    widths = torch.stack([w, width - w, w, width - w])
    return heights, widths


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")




def sample_ricap_params(batch_size: int, height: int, width: int, beta: float,
                        generator: torch.Generator) -> RicapParams:
    """Draw the boundary, the four image permutations and the four crop positions (Sec. III-A).

    Args:
        batch_size: N, the number of images in the batch (> 0).
        height: I_y of the images.
        width: I_x of the images.
        beta: the Beta concentration beta > 0 of the boundary position (the paper uses 0.3).
        generator: the explicit random generator; parameters are drawn on its device.

    Returns:
        A :class:`RicapParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_ricap_params(4, 32, 32, 0.3, torch.Generator().manual_seed(0))
        >>> params.perms.shape, float(params.weights.sum())
        (torch.Size([4, 4]), 1.0)
    """
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    # Sec. III-A: w = round(w' I_x), h = round(h' I_y), w', h' ~ Beta(beta, beta).
    fractions = sample_beta(beta, generator, (2,))  # [h', w']
    boundary = torch.round(fractions * torch.tensor([height, width], device=device, dtype=torch.float32)).long()
    heights, widths = region_sizes(boundary, height, width)  # (4,), (4,)
    # Sec. III-A: x_k ~ U(0, I_x - w_k), y_k ~ U(0, I_y - h_k), integers as in the appendix code.
    corner = torch.rand((4, 2), generator=generator, device=device)
    y_k = torch.floor(corner[:, 0] * (height - heights + 1).float()).long().clamp(max=height - heights)
    x_k = torch.floor(corner[:, 1] * (width - widths + 1).float()).long().clamp(max=width - widths)
    # Four shuffled copies of the batch (appendix code: one torch.randperm per region).
    perms = torch.stack([torch.randperm(batch_size, generator=generator, device=device) for _ in range(4)])
    weights = (heights * widths).to(torch.float32) / float(height * width)  # W_k = w_k h_k / (I_x I_y)
    return RicapParams(boundary=boundary, perms=perms, offsets=torch.stack([y_k, x_k], 1), weights=weights,
                       size=(height, width))


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




def apply_ricap(images: torch.Tensor, targets: torch.Tensor, params: RicapParams,
                num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch four crops into every image and mix their labels by area (Sec. III-A), deterministically.

    Output pixel (r, c) of image i lies in region k = 2 [r >= h] + [c >= w] and is copied from image
    ``perms[k, i]`` at (y_k + r - r_k, x_k + c - c_k), (r_k, c_k) the region's top-left corner; the label is
    c = sum_k W_k c_k.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`RicapParams` to apply (sampled for this batch; moved to the images' device).
        num_classes: K, the width of the soft targets.

    Returns:
        ``(patched_images, soft_targets)``: the images in the input dtype (pixels are copied, never blended)
        and the (N, K) float32 soft targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x = torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)  # image i is filled with i
        >>> params = RicapParams(boundary=torch.tensor([1, 1]), perms=torch.arange(4)[:, None].expand(4, 4),
        ...     offsets=torch.zeros(4, 2, dtype=torch.long), weights=torch.full((4,), 0.25), size=(2, 2))
        >>> patched, soft = apply_ricap(x, torch.arange(4), params, num_classes=4)
        >>> patched[0, 0].tolist(), soft[0].tolist()
        ([[0.0, 1.0], [2.0, 3.0]], [0.25, 0.25, 0.25, 0.25])
    """
    _check_batch(images, targets, num_classes)
    n, _, height, width = images.shape
    if not isinstance(params, RicapParams) or params.perms.shape != (4, n) or params.offsets.shape != (4, 2):
        raise ValueError(f"params must be RicapParams with (4, {n}) perms and (4, 2) offsets "
                         f"(from sample_ricap_params)")
    if tuple(params.size) != (height, width):
        raise ValueError(f"params were sampled for images of size {tuple(params.size)}, got {(height, width)}")
    return _patch(images, targets, params, num_classes)


def _patch(images: torch.Tensor, targets: torch.Tensor, params: RicapParams,
           num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    n, _, height, width = images.shape
    device = images.device
    perms = params.perms.to(device)  # (4, N)
    h, w = params.boundary.to(device).unbind()
    y_k, x_k = params.offsets.to(device).unbind(1)  # (4,), (4,)
    rows = torch.arange(height, device=device)  # (H,)
    cols = torch.arange(width, device=device)  # (W,)
    lower, right = rows >= h, cols >= w  # (H,), (W,)
    region = 2 * lower[:, None].long() + right[None, :].long()  # (H, W): 0 UL, 1 UR, 2 LL, 3 LR
    # Source row/column: crop corner + offset inside the region (regions start at row 0 or h, column 0 or w).
    src_row = y_k[region] + rows[:, None] - torch.where(lower, h, 0)[:, None]  # (H, W)
    src_col = x_k[region] + cols[None, :] - torch.where(right, w, 0)[None, :]  # (H, W)
    src_img = perms[region]  # (H, W, N): which image each output pixel of each output image reads
    source = images.permute(0, 2, 3, 1)  # (N, H, W, C) view
    patched = source[src_img.permute(2, 0, 1), src_row[None], src_col[None]]  # (N, H, W, C), copied pixels
    weights = params.weights.to(device=device, dtype=torch.float32)  # (4,)
    onehot = _one_hot(targets.to(device), num_classes)  # (N, K)
    soft = torch.einsum("k,knc->nc", weights, onehot[perms])  # Sec. III-A: c = sum_k W_k c_k
    return patched.permute(0, 3, 1, 2).contiguous(), soft


def ricap(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
          beta: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """RICAP a batch: patch four random crops of four shuffled batches into each image, mix labels by area.

    Equivalent to ``apply_ricap(images, targets, sample_ricap_params(N, H, W, beta, generator), num_classes)``.
    Pure: the inputs are never modified; the same generator seed gives the same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        beta: the Beta concentration of the boundary position (0.3, the paper's setting).

    Returns:
        ``(patched_images, soft_targets)`` with soft targets of shape (N, K), float32, whose four weights are
        the region areas (they sum to 1).

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> patched, soft = ricap(x, y, num_classes=10, generator=g)
        >>> patched.shape, soft.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
    """
    _check_batch(images, targets, num_classes)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    n, _, height, width = images.shape
    params = sample_ricap_params(n, height, width, beta, generator)
    return _patch(images, targets, params, num_classes)  # inputs already checked (one range check, one sync)
