"""Simple Copy-Paste (Ghiasi, Cui, Srinivas, Qian, Lin, Cubuk, Le, Zoph: "Simple Copy-Paste is a Strong Data
Augmentation Method for Instance Segmentation", CVPR 2021, arXiv:2012.07177).

Sec. 3 pastes a random subset of the objects of one image onto another. The source gets random scale
jittering, "large scale jittering" (LSJ), whose resize range is 0.1 to 2.0 of the image size. The composite is
I1 x alpha + I2 x (1 - alpha), with I1 the pasted image, I2 the main image and alpha the binary mask of the
pasted objects. The paper smooths alpha with a Gaussian filter as an option, and reports that "simply composing
without any blending has similar performance". The annotations are then adjusted: fully occluded objects are
removed, and the masks and boxes of partially occluded objects are updated.

- :func:`copy_paste` is the instance-segmentation form: image, masks and labels of a target and of a source in;
  image, masks, labels and boxes out.
- :func:`copy_paste_batch` is the ``batch_augment`` contract (what ``get("copy_paste")`` returns). Classification
  batches have no instance masks, so the "object" of every source image is a saliency-free stand-in: its central
  rectangle (``fg_fraction`` of each side). After scale jittering it is pasted onto the target, and the soft
  target mixes the two labels by pasted area, as CutMix does. This is an honest reduction and not the paper's
  setting (see the README).

Random parameters are drawn by :func:`sample_copy_paste_params` (explicit ``torch.Generator``) and applied by the
deterministic :func:`apply_copy_paste`. The warp is one ``grid_sample`` for the image and one gather for the
masks, with no per-pixel loops.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class CopyPasteParams:
    """The random parameters of one Copy-Paste.

    Attributes:
        scale: 0-dim float32 tensor, the LSJ resize factor of the source (Sec. 3, uniform in ``scale_range``).
        offset: (2,) float32 tensor ``(dy, dx)``, where the resized source's top-left corner lands on the target
            (a random crop when the resized source is larger, a random pad position when it is smaller).
        selected: (K_src,) bool tensor, the random subset of source objects to paste.
        src_size: (Hs, Ws) of the source image.
        out_size: (H, W) of the target image.
    """

    scale: torch.Tensor
    offset: torch.Tensor
    selected: torch.Tensor
    src_size: tuple[int, int]
    out_size: tuple[int, int]


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_range(scale_range) -> tuple[float, float]:
    if not (isinstance(scale_range, (tuple, list)) and len(scale_range) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in scale_range)):
        raise ValueError(f"scale_range must be a (low, high) pair of numbers, got {scale_range!r}")
    low, high = float(scale_range[0]), float(scale_range[1])
    if not (0.0 < low <= high and math.isfinite(high)):
        raise ValueError(f"scale_range must satisfy 0 < low <= high < inf, got {scale_range!r}")
    return low, high


def _check_probability(p, name: str) -> None:
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


def _check_sigma(sigma) -> None:
    if not (isinstance(sigma, numbers.Real) and not isinstance(sigma, bool) and 0.0 <= sigma < math.inf):
        raise ValueError(f"blend_sigma must be a finite number >= 0 (0: no blending), got {sigma!r}")


def _draw_jitter(size: tuple[int, ...], src_size: tuple[int, int], out_size: tuple[int, int],
                 scale_range: tuple[float, float], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """LSJ: scale ~ U(scale_range); offset: a random crop (source larger) or pad position (source smaller)."""
    device = generator.device
    low, high = scale_range
    scale = low + (high - low) * torch.rand(size, generator=generator, device=device)  # Sec. 3: U(0.1, 2.0)
    room = torch.tensor(out_size, dtype=torch.float32, device=device) \
        - scale[..., None] * torch.tensor(src_size, dtype=torch.float32, device=device)  # (..., 2): H - s Hs
    u = torch.rand((*size, 2), generator=generator, device=device)
    offset = torch.floor(torch.minimum(room, torch.zeros_like(room)) + u * room.abs())  # in [min(0,room), max(0,room)]
    return scale, offset


def sample_copy_paste_params(src_size: tuple[int, int], out_size: tuple[int, int], num_objects: int,
                             generator: torch.Generator, scale_range: tuple[float, float] = (0.1, 2.0),
                             p_object: float = 0.5) -> CopyPasteParams:
    """Draw the source's scale jitter and placement and the subset of objects to paste.

    Args:
        src_size: (Hs, Ws) of the source image.
        out_size: (H, W) of the target image.
        num_objects: K_src, the number of source objects (0 allowed).
        generator: the explicit random generator.
        scale_range: the LSJ resize range. Sec. 3: 0.1 to 2.0 (standard scale jittering: 0.8 to 1.25).
        p_object: probability that each source object is pasted. The default 0.5 makes every subset
            equally likely: the paper's "random subset".

    Returns:
        A :class:`CopyPasteParams`.

    Examples:
        >>> p = sample_copy_paste_params((32, 32), (32, 32), 3, torch.Generator().manual_seed(0))
        >>> 0.1 <= float(p.scale) <= 2.0, p.selected.shape
        (True, torch.Size([3]))
    """
    if not (isinstance(src_size, (tuple, list)) and len(src_size) == 2 and isinstance(out_size, (tuple, list))
            and len(out_size) == 2):
        raise ValueError(f"src_size and out_size must be (height, width) pairs, got {src_size!r}, {out_size!r}")
    for v, name in ((src_size[0], "src_size[0]"), (src_size[1], "src_size[1]"), (out_size[0], "out_size[0]"),
                    (out_size[1], "out_size[1]")):
        _check_positive_int(v, name)
    if not isinstance(num_objects, int) or isinstance(num_objects, bool) or num_objects < 0:
        raise ValueError(f"num_objects must be an int >= 0, got {num_objects!r}")
    scale_range = _check_range(scale_range)
    _check_probability(p_object, "p_object")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    src_size, out_size = (int(src_size[0]), int(src_size[1])), (int(out_size[0]), int(out_size[1]))
    scale, offset = _draw_jitter((), src_size, out_size, scale_range, generator)
    selected = torch.rand(num_objects, generator=generator, device=generator.device) < p_object  # Sec. 3
    return CopyPasteParams(scale=scale, offset=offset, selected=selected, src_size=src_size, out_size=out_size)


def _source_coords(scale: torch.Tensor, offset: torch.Tensor, out_size: tuple[int, int],
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Continuous source coordinates (pixel-edge units) of every output pixel centre: (..., H), (..., W)."""
    h, w = out_size
    scale = scale.to(device=device, dtype=torch.float32)[..., None]
    offset = offset.to(device=device, dtype=torch.float32)
    ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5
    return (ys - offset[..., 0:1]) / scale, (xs - offset[..., 1:2]) / scale


def _warp_image(src: torch.Tensor, uy: torch.Tensor, ux: torch.Tensor) -> torch.Tensor:
    """Bilinear resample of (N, C, Hs, Ws) at source coords uy (N, H), ux (N, W) -> (N, C, H, W)."""
    hs, ws = src.shape[-2:]
    gy = (2.0 * uy / hs - 1.0)[:, :, None].expand(-1, -1, ux.shape[-1])  # align_corners=False convention
    gx = (2.0 * ux / ws - 1.0)[:, None, :].expand(-1, uy.shape[-1], -1)
    grid = torch.stack([gx, gy], -1).to(src.dtype if src.dtype in (torch.float32, torch.float64) else torch.float32)
    out = F.grid_sample(src.to(grid.dtype), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.to(src.dtype)


def _gaussian_blur(alpha: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian filter of (N, 1, H, W) alpha (Sec. 3: optional smoothing of the paste edges)."""
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, device=alpha.device, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(alpha.dtype)
    x = F.pad(alpha, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def boxes_from_masks(masks: torch.Tensor) -> torch.Tensor:
    """Tight xyxy boxes of (K, H, W) bool masks, in pixel-edge coordinates (x2 = last column + 1).

    Args:
        masks: (K, H, W) bool masks, each non-empty.

    Returns:
        (K, 4) float32 boxes ``x1, y1, x2, y2``; all zeros for an empty mask.

    Examples:
        >>> m = torch.zeros(1, 5, 6, dtype=torch.bool); m[0, 1:3, 2:5] = True
        >>> boxes_from_masks(m).tolist()
        [[2.0, 1.0, 5.0, 3.0]]
    """
    k, h, w = masks.shape
    rows, cols = masks.any(2), masks.any(1)  # (K, H), (K, W)
    y1 = rows.to(torch.uint8).argmax(1)
    y2 = h - rows.flip(1).to(torch.uint8).argmax(1)
    x1 = cols.to(torch.uint8).argmax(1)
    x2 = w - cols.flip(1).to(torch.uint8).argmax(1)
    boxes = torch.stack([x1, y1, x2, y2], 1).to(torch.float32)
    return torch.where(rows.any(1)[:, None], boxes, torch.zeros_like(boxes))


def _check_instance(image, masks, labels, name: str) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or not image.is_floating_point():
        raise ValueError(f"{name}image must be a floating-point (C, H, W) tensor, got "
                         f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
    if image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"{name}image must be non-empty, got {tuple(image.shape)}")
    if not (isinstance(masks, torch.Tensor) and masks.dtype == torch.bool and masks.ndim == 3
            and masks.shape[1:] == image.shape[1:]):
        raise ValueError(f"{name}masks must be a (K, H, W) bool tensor matching {name}image's (H, W) = "
                         f"{tuple(image.shape[1:])}, got "
                         f"{(tuple(masks.shape), masks.dtype) if isinstance(masks, torch.Tensor) else type(masks).__name__}")
    if not (isinstance(labels, torch.Tensor) and labels.ndim == 1 and labels.shape[0] == masks.shape[0]):
        raise ValueError(f"{name}labels must be a ({masks.shape[0]},) tensor, one label per mask")


def apply_copy_paste(image: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor, src_image: torch.Tensor,
                     src_masks: torch.Tensor, src_labels: torch.Tensor, params: CopyPasteParams,
                     blend_sigma: float = 0.0
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paste the selected, scale-jittered source objects onto the target, then fix the annotations (Sec. 3).

    Args:
        image: (C, H, W) floating-point target ("main") image; not modified.
        masks: (K, H, W) bool instance masks of the target.
        labels: (K,) labels of the target objects.
        src_image: (C, Hs, Ws) source image, whose objects are pasted.
        src_masks: (K_src, Hs, Ws) bool instance masks of the source.
        src_labels: (K_src,) labels of the source objects.
        params: a :class:`CopyPasteParams` for these sizes.
        blend_sigma: standard deviation (pixels) of the Gaussian filter applied to alpha. 0 (default) is plain
            composition, which the paper found to perform about as well as blending.

    Returns:
        ``(image, masks, labels, boxes)``. The composite image is in the input dtype. The masks are the
        surviving target masks minus the pasted region, followed by the visible pasted masks, as (K', H, W)
        bool. Labels are (K',) and boxes (K', 4) float32 xyxy, recomputed from the masks. Objects with no
        pixel left (fully occluded, or pasted outside the image) are dropped.

    Shape:
        - image: (C, H, W) -> (C, H, W)
        - masks: (K, H, W), (K_src, Hs, Ws) -> (K', H, W)
    """
    _check_instance(image, masks, labels, "")
    _check_instance(src_image, src_masks, src_labels, "src_")
    if src_image.shape[0] != image.shape[0]:
        raise ValueError(f"src_image has {src_image.shape[0]} channels, image has {image.shape[0]}")
    _check_sigma(blend_sigma)
    if not isinstance(params, CopyPasteParams) or params.selected.shape != (src_masks.shape[0],):
        raise ValueError(f"params must be CopyPasteParams with a ({src_masks.shape[0]},) selection "
                         f"(from sample_copy_paste_params)")
    if tuple(params.src_size) != tuple(src_image.shape[1:]) or tuple(params.out_size) != tuple(image.shape[1:]):
        raise ValueError(f"params were sampled for source {tuple(params.src_size)} and target "
                         f"{tuple(params.out_size)}, got {tuple(src_image.shape[1:])} and {tuple(image.shape[1:])}")
    return _paste(image, masks, labels, src_image, src_masks, src_labels, params, float(blend_sigma))


def _paste(image, masks, labels, src_image, src_masks, src_labels, params: CopyPasteParams, blend_sigma: float):
    device = image.device
    h, w = image.shape[1:]
    hs, ws = src_image.shape[1:]
    uy, ux = _source_coords(params.scale[None], params.offset[None], (h, w), device)  # (1, H), (1, W)
    # Masks: nearest neighbour, exact membership; outside the resized source nothing is pasted.
    iy, ix = torch.floor(uy[0]).long(), torch.floor(ux[0]).long()
    in_y, in_x = (iy >= 0) & (iy < hs), (ix >= 0) & (ix < ws)
    chosen = src_masks.to(device)[params.selected.to(device)]  # (P, Hs, Ws): the random subset (Sec. 3)
    pasted = chosen[:, iy.clamp(0, hs - 1)][:, :, ix.clamp(0, ws - 1)] & (in_y[:, None] & in_x[None, :])  # (P, H, W)
    alpha = pasted.any(0)  # (H, W): binary mask of the pasted objects (Sec. 3, "Blending Pasted Objects")
    warped = _warp_image(src_image.to(device)[None], uy, ux)[0]  # (C, H, W): the scale-jittered source
    if blend_sigma > 0:  # optional: Gaussian filter on alpha to smooth the edges (Sec. 3)
        soft_alpha = _gaussian_blur(alpha[None, None].to(torch.float32), blend_sigma)[0].to(image.dtype)
        out = warped * soft_alpha + image * (1 - soft_alpha)  # I1 x alpha + I2 x (1 - alpha)
    else:
        out = torch.where(alpha[None], warped, image)  # I1 x alpha + I2 x (1 - alpha) with binary alpha
    # Sec. 3: update the masks of occluded objects, remove fully occluded ones, recompute boxes.
    kept_target = masks.to(device) & ~alpha  # (K, H, W): pasted pixels leave every target mask
    all_masks = torch.cat([kept_target, pasted], 0)
    all_labels = torch.cat([labels.to(device), src_labels.to(device)[params.selected.to(device)]], 0)
    visible = all_masks.flatten(1).any(1)  # ragged output: one device sync
    all_masks, all_labels = all_masks[visible], all_labels[visible]
    return out, all_masks, all_labels, boxes_from_masks(all_masks)


def copy_paste(image: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor, src_image: torch.Tensor,
               src_masks: torch.Tensor, src_labels: torch.Tensor, *, generator: torch.Generator,
               scale_range: tuple[float, float] = (0.1, 2.0), p_object: float = 0.5, blend_sigma: float = 0.0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Simple Copy-Paste for instance segmentation: paste a random subset of source objects onto the target.

    Args:
        image: (C, H, W) floating-point target image; not modified.
        masks: (K, H, W) bool instance masks of the target.
        labels: (K,) labels of the target objects.
        src_image: (C, Hs, Ws) source image.
        src_masks: (K_src, Hs, Ws) bool instance masks of the source.
        src_labels: (K_src,) labels of the source objects.
        generator: the explicit ``torch.Generator``, on the images' device.
        scale_range: LSJ resize range of the source (Sec. 3: 0.1 to 2.0).
        p_object: probability that each source object is pasted (0.5: a uniformly random subset).
        blend_sigma: Gaussian smoothing of alpha in pixels (0: none, which the paper found to do as well).

    Returns:
        ``(image, masks, labels, boxes)``, see :func:`apply_copy_paste`.

    Shape:
        - image: (C, H, W) -> (C, H, W)
        - masks: (K, H, W) -> (K', H, W)

    Examples:
        >>> img, src = torch.zeros(3, 16, 16), torch.ones(3, 16, 16)
        >>> m = torch.zeros(1, 16, 16, dtype=torch.bool); m[0, 4:12, 4:12] = True
        >>> out, masks, labels, boxes = copy_paste(img, m, torch.tensor([1]), src, m, torch.tensor([2]),
        ...                                        generator=torch.Generator().manual_seed(0), p_object=1.0,
        ...                                        scale_range=(1.0, 1.0))
        >>> labels.tolist(), boxes.tolist()
        ([2], [[4.0, 4.0, 12.0, 12.0]])
    """
    _check_instance(image, masks, labels, "")
    _check_instance(src_image, src_masks, src_labels, "src_")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != image.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{image.device.type}'")
    params = sample_copy_paste_params(tuple(src_image.shape[1:]), tuple(image.shape[1:]), src_masks.shape[0],
                                      generator, scale_range, p_object)
    return apply_copy_paste(image, masks, labels, src_image, src_masks, src_labels, params, blend_sigma)


# ---- the batch_augment contract ---------------------------------------------------------------------
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
    if not torch.compiler.is_compiling():
        if bool(((targets < 0) | (targets >= num_classes)).any()):
            raise ValueError(f"targets must lie in [0, {num_classes - 1}], got values in "
                             f"[{int(targets.min())}, {int(targets.max())}]")


@dataclass(frozen=True)
class CopyPasteBatchParams:
    """Random parameters of :func:`copy_paste_batch`.

    Attributes:
        perm: (N,) int64; image i receives the foreground of image ``perm[i]``.
        scale: (N,) float32 LSJ factors of the sources.
        offset: (N, 2) float32 ``(dy, dx)`` placements of the resized sources.
        size: the (H, W) the parameters were drawn for.
    """

    perm: torch.Tensor
    scale: torch.Tensor
    offset: torch.Tensor
    size: tuple[int, int]


def sample_copy_paste_batch_params(batch_size: int, height: int, width: int, generator: torch.Generator,
                                   scale_range: tuple[float, float] = (0.1, 2.0)) -> CopyPasteBatchParams:
    """Draw a source (a random permutation, as in mixup/CutMix), an LSJ scale and a placement per image."""
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    scale_range = _check_range(scale_range)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    perm = torch.randperm(batch_size, generator=generator, device=generator.device)
    scale, offset = _draw_jitter((batch_size,), (height, width), (height, width), scale_range, generator)
    return CopyPasteBatchParams(perm=perm, scale=scale, offset=offset, size=(height, width))


def apply_copy_paste_batch(images: torch.Tensor, targets: torch.Tensor, params: CopyPasteBatchParams,
                           num_classes: int, fg_fraction: float = 0.5, blend_sigma: float = 0.0
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste every partner's jittered central rectangle and mix the labels by pasted area, deterministically.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices.
        params: a :class:`CopyPasteBatchParams` for this (N, H, W).
        num_classes: K.
        fg_fraction: side of the stand-in foreground rectangle, as a fraction of each side (centred).
        blend_sigma: Gaussian smoothing of alpha in pixels (0: none). With blending, the label weight is the
            mean of the blurred alpha.

    Returns:
        ``(images, soft_targets)``: (N, C, H, W) in the input dtype and (N, K) float32, with
        ``soft = (1 - a) one_hot(y) + a one_hot(y[perm])`` where a is the pasted fraction of the image.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)
    """
    _check_batch(images, targets, num_classes)
    n, _, h, w = images.shape
    if not isinstance(params, CopyPasteBatchParams) or params.perm.shape != (n,) or tuple(params.size) != (h, w):
        raise ValueError(f"params must be CopyPasteBatchParams drawn for N={n}, (H, W)={(h, w)}")
    if not (isinstance(fg_fraction, numbers.Real) and 0.0 < fg_fraction <= 1.0):
        raise ValueError(f"fg_fraction must be in (0, 1], got {fg_fraction!r}")
    _check_sigma(blend_sigma)
    return _paste_batch(images, targets, params, num_classes, float(fg_fraction), float(blend_sigma))


def _paste_batch(images, targets, params: CopyPasteBatchParams, num_classes: int, fg_fraction: float,
                 blend_sigma: float):
    device = images.device
    n, _, h, w = images.shape
    perm = params.perm.to(device)
    uy, ux = _source_coords(params.scale, params.offset, (h, w), device)  # (N, H), (N, W) source coordinates
    # Stand-in object: the centred rectangle covering fg_fraction of each side of the source.
    lo, hi = 0.5 - fg_fraction / 2, 0.5 + fg_fraction / 2
    in_y = (uy >= h * lo) & (uy < h * hi)  # (N, H)
    in_x = (ux >= w * lo) & (ux < w * hi)  # (N, W)
    alpha = in_y[:, :, None] & in_x[:, None, :]  # (N, H, W): binary mask of the pasted "object"
    warped = _warp_image(images[perm], uy, ux)  # (N, C, H, W): each partner, scale-jittered
    if blend_sigma > 0:
        a = _gaussian_blur(alpha[:, None].to(torch.float32), blend_sigma)  # (N, 1, H, W)
        out = warped * a.to(images.dtype) + images * (1 - a.to(images.dtype))
        pasted = a.flatten(1).mean(1)
    else:
        out = torch.where(alpha[:, None], warped, images)  # I1 x alpha + I2 x (1 - alpha)
        pasted = alpha.flatten(1).to(torch.float32).mean(1)  # (N,): pasted fraction of the image
    onehot = torch.zeros(n, num_classes, device=device).scatter(1, targets.to(device).long()[:, None], 1.0)
    soft = (1 - pasted)[:, None] * onehot + pasted[:, None] * onehot[perm]  # label by area (CutMix's rule)
    return out, soft


def copy_paste_batch(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
                     scale_range: tuple[float, float] = (0.1, 2.0), fg_fraction: float = 0.5,
                     blend_sigma: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy-Paste for classification batches (the ``batch_augment`` contract; ``get("copy_paste")``).

    Classification images carry no instance masks, so each partner image's "object" is its central
    rectangle (``fg_fraction`` of each side), a saliency-free stand-in. It is scale-jittered with LSJ
    (Sec. 3), placed at random and composed as I1 x alpha + I2 x (1 - alpha). The labels are mixed by the
    pasted area. Use :func:`copy_paste` when you have instance masks.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K.
        generator: the explicit ``torch.Generator``, on the images' device.
        scale_range: LSJ resize range (Sec. 3: 0.1 to 2.0).
        fg_fraction: side of the stand-in foreground rectangle as a fraction of each side.
        blend_sigma: Gaussian smoothing of alpha in pixels (0: none).

    Returns:
        ``(images, soft_targets)``: (N, C, H, W) in the input dtype, (N, K) float32.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.rand(4, 3, 32, 32), torch.arange(4)
        >>> out, soft = copy_paste_batch(x, y, num_classes=4, generator=torch.Generator().manual_seed(0))
        >>> out.shape, torch.allclose(soft.sum(1), torch.ones(4))
        (torch.Size([4, 3, 32, 32]), True)
    """
    _check_batch(images, targets, num_classes)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    if not (isinstance(fg_fraction, numbers.Real) and 0.0 < fg_fraction <= 1.0):
        raise ValueError(f"fg_fraction must be in (0, 1], got {fg_fraction!r}")
    _check_sigma(blend_sigma)
    n, _, h, w = images.shape
    params = sample_copy_paste_batch_params(n, h, w, generator, scale_range)
    return _paste_batch(images, targets, params, num_classes, float(fg_fraction), float(blend_sigma))
