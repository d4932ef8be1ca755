"""ResizeMix (Qin, Fang, Zhang, Liu, Wang, Wang: "ResizeMix: Mixing Data with Preserved Object Information and
True Labels", arXiv:2012.11101, 2020).

Instead of cutting a patch out of the source image (which may miss the object, or hold only background
while the label still counts it), ResizeMix shrinks the *whole* source image by a scale rate
tau ~ U(tau_min, tau_max) and pastes it at a random place of the target image; the labels are mixed by the
pasted area. The object is always fully present, so the label weight is never misallocated. As in the
authors' code (JayQine/ResizeMix ``run_apis/trainer.py``): one tau per batch (tau in [0.1, 0.8] in their ImageNet
config), a random pairing, a random position per image with the patch fully inside, lambda = 1 - patch area
/ image area.

The random parameters are drawn by :func:`sample_resizemix_params` and applied by the deterministic
:func:`apply_resizemix`; :func:`resizemix` does both. All randomness comes from the explicit ``torch.Generator``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

_INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class ResizemixParams:
    """The random parameters of one ResizeMix draw.

    Attributes:
        lam: 0-dim float32 tensor, 1 - (h w) / (H W): the label weight of the original (target) image.
        tau: 0-dim float32 tensor, the sampled scale rate; the patch is h = floor(H tau), w = floor(W tau).
        perm: (N,) int64 tensor; image i receives the resized image ``perm[i]``.
        patch: (2,) int64 tensor ``[h, w]``, the patch size (the same for the whole batch).
        offsets: (N, 2) int64 tensor ``[y1, x1]``, the top-left corner of the patch in image i.
        size: the (H, W) the parameters were sampled for.
    """

    lam: torch.Tensor
    tau: torch.Tensor
    perm: torch.Tensor
    patch: torch.Tensor
    offsets: torch.Tensor
    size: tuple[int, int]


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")




def sample_resizemix_params(batch_size: int, height: int, width: int, generator: torch.Generator,
                            tau_min: float = 0.1, tau_max: float = 0.8) -> ResizemixParams:
    """Draw the scale rate, the pairing and the paste positions for one batch, on the generator's device.

    Args:
        batch_size: N, the number of images in the batch (> 0).
        height: H of the images.
        width: W of the images.
        generator: the explicit random generator; parameters are drawn on its device.
        tau_min: lower bound of the scale rate (authors' configs: 0.1).
        tau_max: upper bound of the scale rate (authors' configs: 0.8); 0 < tau_min <= tau_max <= 1.

    Returns:
        A :class:`ResizemixParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_resizemix_params(4, 32, 32, torch.Generator().manual_seed(0))
        >>> params.offsets.shape, bool(0.1 <= params.tau <= 0.8)
        (torch.Size([4, 2]), True)
    """
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    for name, value in (("tau_min", tau_min), ("tau_max", tau_max)):
        if not (isinstance(value, numbers.Real) and 0.0 < value <= 1.0):
            raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    if tau_min > tau_max:
        raise ValueError(f"tau_min must not exceed tau_max, got {tau_min} > {tau_max}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    u = torch.rand((), generator=generator, device=device)
    tau = tau_min + (tau_max - tau_min) * u  # tau ~ U(tau_min, tau_max), one per batch (authors' code)
    # Patch size floor(H tau) x floor(W tau), as F.interpolate(scale_factor=tau) gives; at least 1 pixel.
    ph = torch.floor(height * tau).long().clamp(1, height)
    pw = torch.floor(width * tau).long().clamp(1, width)
    perm = torch.randperm(batch_size, generator=generator, device=device)  # source of image i
    # A random position per image with the whole patch inside (authors' getbox_new clips the box back in).
    corner = torch.rand((batch_size, 2), generator=generator, device=device)
    y1 = torch.floor(corner[:, 0] * (height - ph + 1).float()).long().clamp(max=height - ph)  # U{0..H-h}
    x1 = torch.floor(corner[:, 1] * (width - pw + 1).float()).long().clamp(max=width - pw)  # U{0..W-w}
    lam = 1.0 - (ph * pw).to(torch.float32) / float(height * width)  # the pasted-area ratio is 1 - lam
    return ResizemixParams(lam=lam, tau=tau, perm=perm, patch=torch.stack([ph, pw]),
                           offsets=torch.stack([y1, x1], 1), size=(height, width))


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




def apply_resizemix(images: torch.Tensor, targets: torch.Tensor, params: ResizemixParams, num_classes: int,
                    interpolation: str = "nearest") -> tuple[torch.Tensor, torch.Tensor]:
    """Paste each partner, resized to the patch size, into each image and mix the labels by area.

    The resize matches ``F.interpolate(source, size=(h, w), mode=interpolation, align_corners=False)``
    (no antialiasing), computed for the whole batch without reading the patch size back to the host.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`ResizemixParams` to apply (sampled for this batch; moved to the images' device).
        num_classes: K, the width of the soft targets.
        interpolation: ``"nearest"`` (``F.interpolate``'s default, used by the authors) or ``"bilinear"``.

    Returns:
        ``(mixed_images, soft_targets)``: the images in the input dtype and the (N, K) float32 soft targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.zeros(2, 1, 4, 4), torch.tensor([0, 1])
        >>> x[1] = 1.0
        >>> params = ResizemixParams(lam=torch.tensor(0.75), tau=torch.tensor(0.5), perm=torch.tensor([1, 0]),
        ...     patch=torch.tensor([2, 2]), offsets=torch.tensor([[0, 0], [2, 2]]), size=(4, 4))
        >>> mixed, soft = apply_resizemix(x, y, params, num_classes=2)
        >>> mixed[0, 0].sum().item(), soft[0].tolist()
        (4.0, [0.75, 0.25])
    """
    _check_batch(images, targets, num_classes)
    n, _, height, width = images.shape
    if not isinstance(params, ResizemixParams) or params.perm.shape != (n,) or params.offsets.shape != (n, 2):
        raise ValueError(f"params must be ResizemixParams with a ({n},) perm and ({n}, 2) offsets "
                         f"(from sample_resizemix_params)")
    if tuple(params.size) != (height, width):
        raise ValueError(f"params were sampled for images of size {tuple(params.size)}, got {(height, width)}")
    _check_interpolation(interpolation)
    return _paste(images, targets, params, num_classes, interpolation)


def _check_interpolation(interpolation: str) -> None:
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")


def _source_coords(out_size: int, patch: torch.Tensor, offset: torch.Tensor, in_size: int, interpolation: str):
    """For each output row (or column) of each image: the source indices and weight of the resized patch.

    Follows F.interpolate(size=...) with align_corners=False: scale = in / patch; nearest takes
    floor(d * scale); bilinear samples at (d + 0.5) * scale - 0.5, clamped at 0.
    """
    device = offset.device
    d = torch.arange(out_size, device=device)[None, :] - offset[:, None]  # (N, out): position inside the patch
    inside = (d >= 0) & (d < patch)  # (N, out)
    d = d.clamp(min=0).to(torch.float32)
    scale = float(in_size) / patch.to(torch.float32)  # in / out, as F.interpolate computes it
    if interpolation == "nearest":
        lo = torch.floor(d * scale).long().clamp(max=in_size - 1)
        return inside, lo, lo, torch.zeros_like(d)
    src = ((d + 0.5) * scale - 0.5).clamp(min=0.0)
    lo = torch.floor(src).long().clamp(max=in_size - 1)
    hi = (lo + 1).clamp(max=in_size - 1)
    return inside, lo, hi, src - lo.to(torch.float32)  # (N, out) each


def _paste(images: torch.Tensor, targets: torch.Tensor, params: ResizemixParams, num_classes: int,
           interpolation: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    n, _, height, width = images.shape
    device = images.device
    perm = params.perm.to(device)
    ph, pw = params.patch.to(device).unbind()
    offsets = params.offsets.to(device)
    in_y, y_lo, y_hi, wy = _source_coords(height, ph, offsets[:, 0], height, interpolation)  # (N, H)
    in_x, x_lo, x_hi, wx = _source_coords(width, pw, offsets[:, 1], width, interpolation)  # (N, W)
    source = images.permute(0, 2, 3, 1)  # (N, H, W, C) view: gather pixels, keep channels
    b = perm[:, None, None]  # (N, 1, 1): image i reads from image perm[i]
    if interpolation == "nearest":
        pasted = source[b, y_lo[:, :, None], x_lo[:, None, :]]  # (N, H, W, C), copied pixels
    else:  # separable bilinear in float32, like F.interpolate(mode="bilinear", align_corners=False)
        def at(rows, cols):
            return source[b, rows[:, :, None], cols[:, None, :]].float()  # (N, H, W, C)
        wx4, wy4 = wx[:, None, :, None], wy[:, :, None, None]
        top = torch.lerp(at(y_lo, x_lo), at(y_lo, x_hi), wx4)
        bottom = torch.lerp(at(y_hi, x_lo), at(y_hi, x_hi), wx4)
        pasted = torch.lerp(top, bottom, wy4).to(images.dtype)
    inside = in_y[:, :, None] & in_x[:, None, :]  # (N, H, W): the patch region of each image
    mixed = torch.where(inside[:, None], pasted.permute(0, 3, 1, 2), images)  # (N, C, H, W)
    lam = params.lam.to(device=device, dtype=torch.float32)
    onehot = _one_hot(targets.to(device), num_classes)  # (N, K)
    soft = lam * onehot + (1.0 - lam) * onehot[perm]  # label weight of the source = its pasted-area ratio
    return mixed.contiguous(), soft


def resizemix(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
              tau_min: float = 0.1, tau_max: float = 0.8, interpolation: str = "nearest"
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """ResizeMix a batch: shrink each partner image by tau ~ U(tau_min, tau_max), paste it, mix labels by area.

    Equivalent to ``apply_resizemix(images, targets, sample_resizemix_params(N, H, W, generator, tau_min,
    tau_max), num_classes, interpolation)``. Pure: the inputs are never modified; the same seed gives the
    same output.

    Args:
        images: (N, C, H, W) floating-point images (float32, bfloat16, float16), on CPU or CUDA.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit random generator; its device must be the images' device type.
        tau_min: lower bound of the scale rate (0.1 in the authors' configs).
        tau_max: upper bound of the scale rate (0.8 in the authors' configs).
        interpolation: ``"nearest"`` (the authors' ``F.interpolate`` default) or ``"bilinear"``.

    Returns:
        ``(mixed_images, soft_targets)`` with soft targets of shape (N, K), float32, whose weights equal the
        pixel proportions exactly.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, num_classes)

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = resizemix(x, y, num_classes=10, generator=g)
        >>> mixed.shape, soft.shape
        (torch.Size([8, 3, 32, 32]), torch.Size([8, 10]))
    """
    _check_batch(images, targets, num_classes)
    _check_interpolation(interpolation)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    n, _, height, width = images.shape
    params = sample_resizemix_params(n, height, width, generator, tau_min, tau_max)
    return _paste(images, targets, params, num_classes, interpolation)
