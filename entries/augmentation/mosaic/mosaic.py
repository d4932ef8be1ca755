"""Mosaic (Bochkovskiy, Wang, Liao: "YOLOv4: Optimal Speed and Accuracy of Object Detection", arXiv:2004.10934, 2020).

Sec. 3.3: "Mosaic represents a new data augmentation method that mixes 4 training images", so that objects
appear outside their usual context and batch normalization sees 4 images per sample. The paper gives no
formula. This file implements the variant of ultralytics/yolov5 (``utils/dataloaders.py``,
``LoadImagesAndLabels.load_mosaic``), which most detectors use and which is the reference here:

1. A 2S x 2S canvas is filled with the grey value 114 (of 255).
2. A centre (yc, xc) is drawn uniformly in [S/2, 3S/2) (``mosaic_border = [-S//2, -S//2]``).
3. Four images are placed with a corner on the centre: top-left ends at (yc, xc), top-right starts at
   column xc, and so on. Each is clipped to the canvas.
4. ``random_perspective(..., border=mosaic_border)`` maps the canvas back to S x S. With its identity
   affine (degrees = translate = scale = shear = 0) this is the central crop, canvas[S/2:3S/2, S/2:3S/2].
   Boxes are shifted with their image, clipped, and filtered by YOLOv5's ``box_candidates``.

Two entry points:

- :func:`mosaic_with_boxes`: the detection form. It takes 4 (or N) images with xyxy boxes and labels and
  returns one mosaic with the moved, clipped and filtered boxes.
- :func:`mosaic`: the ``batch_augment`` contract. It builds N mosaics, mosaic n from image n and three other
  images of the batch. The soft target of a mosaic is the one-hot labels of its 4 sources, weighted by the
  fraction of the output each one covers.

Random parameters come from :func:`sample_mosaic_params` (explicit ``torch.Generator``). They are applied by
the deterministic :func:`apply_mosaic`, a single vectorised gather with no loop over pixels or mosaics.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# YOLOv5 fills the canvas with 114 (uint8). For float images in [0, 1] that is 114 / 255.
DEFAULT_FILL = 114.0 / 255.0

# Slot order, as in YOLOv5's load_mosaic: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
SLOTS = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(frozen=True)
class MosaicParams:
    """The random parameters of M mosaics.

    Attributes:
        sources: (M, 4) int64 tensor; ``sources[m, k]`` is the batch index of the image in slot k of mosaic m
            (slots: top-left, top-right, bottom-left, bottom-right).
        center: (M, 2) int64 tensor ``(yc, xc)``, the mosaic centre on the (2 OH, 2 OW) canvas.
        tile_size: (h, w), the size of the images that are placed.
        out_size: (OH, OW), the size of the output (the canvas is twice as large).
    """

    sources: torch.Tensor
    center: torch.Tensor
    tile_size: tuple[int, int]
    out_size: tuple[int, int]


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_size(size, name: str) -> tuple[int, int]:
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"{name} must be a (height, width) pair, got {size!r}")
    _check_positive_int(size[0], f"{name}[0]")
    _check_positive_int(size[1], f"{name}[1]")
    return int(size[0]), int(size[1])


def _check_center_range(center_range) -> tuple[float, float]:
    if not (isinstance(center_range, (tuple, list)) and len(center_range) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in center_range)):
        raise ValueError(f"center_range must be a (low, high) pair of numbers, got {center_range!r}")
    low, high = float(center_range[0]), float(center_range[1])
    if not 0.0 <= low <= high <= 2.0:
        raise ValueError(f"center_range must satisfy 0 <= low <= high <= 2 (fractions of the output size), "
                         f"got {center_range!r}")
    return low, high


def sample_mosaic_params(num_mosaics: int, batch_size: int, tile_size: tuple[int, int], out_size: tuple[int, int],
                         generator: torch.Generator,
                         center_range: tuple[float, float] = (0.5, 1.5)) -> MosaicParams:
    """Draw the 4 sources and the centre of every mosaic, on the generator's device.

    Mosaic m always contains image ``m % batch_size``. YOLOv5 builds a mosaic from ``[index]`` plus 3 random
    images. Here the 3 others are distinct images of the batch when ``batch_size >= 4``, drawn with
    replacement otherwise. The 4 are then shuffled over the slots (YOLOv5's ``random.shuffle(indices)``).

    Args:
        num_mosaics: M, the number of mosaics.
        batch_size: N, the number of images to draw from.
        tile_size: (h, w) of the images that are placed.
        out_size: (OH, OW) of each mosaic. The canvas is (2 OH, 2 OW).
        generator: the explicit random generator.
        center_range: the centre is uniform in [low, high) times (OH, OW) on the canvas. YOLOv5's
            ``mosaic_border = [-S // 2, -S // 2]`` gives (0.5, 1.5).

    Returns:
        A :class:`MosaicParams`.

    Examples:
        >>> p = sample_mosaic_params(2, 8, (32, 32), (32, 32), torch.Generator().manual_seed(0))
        >>> p.sources.shape, p.center.shape
        (torch.Size([2, 4]), torch.Size([2, 2]))
    """
    _check_positive_int(num_mosaics, "num_mosaics")
    _check_positive_int(batch_size, "batch_size")
    tile_size, out_size = _check_size(tile_size, "tile_size"), _check_size(out_size, "out_size")
    low, high = _check_center_range(center_range)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    anchor = torch.arange(num_mosaics, device=device) % batch_size  # (M,): YOLOv5's `index`
    if batch_size >= 4:  # 3 distinct others: the smallest 3 of random scores, the anchor excluded
        scores = torch.rand(num_mosaics, batch_size, generator=generator, device=device)
        scores = scores.scatter(1, anchor[:, None], 2.0)
        others = scores.topk(3, dim=1, largest=False).indices  # (M, 3)
    else:  # fewer than 4 images: YOLOv5's random.choices, with replacement
        others = torch.randint(0, batch_size, (num_mosaics, 3), generator=generator, device=device)
    four = torch.cat([anchor[:, None], others], 1)  # (M, 4)
    order = torch.rand(num_mosaics, 4, generator=generator, device=device).argsort(1)  # random.shuffle(indices)
    sources = four.gather(1, order)
    # yc, xc = int(random.uniform(S/2, 3S/2)) (load_mosaic with mosaic_border = [-S//2, -S//2])
    u = torch.rand(num_mosaics, 2, generator=generator, device=device)
    span = torch.tensor(out_size, dtype=torch.float32, device=device)
    center = torch.floor(span * (low + (high - low) * u)).long()  # (M, 2)
    return MosaicParams(sources=sources, center=center, tile_size=tile_size, out_size=out_size)


def _placement(params: MosaicParams, device: torch.device):
    """Where every output pixel comes from: slot (M, OH, OW), row/col inside the tile, validity."""
    (h, w), (oh, ow) = params.tile_size, params.out_size
    yc, xc = params.center.to(device).unbind(1)  # (M,), (M,)
    # Output pixel (i, j) is canvas pixel (i + OH//2, j + OW//2): the identity-affine crop of random_perspective.
    rows = torch.arange(oh, device=device) + oh // 2  # (OH,)
    cols = torch.arange(ow, device=device) + ow // 2  # (OW,)
    top = rows[None] < yc[:, None]  # (M, OH): slots 0, 1 end at row yc
    left = cols[None] < xc[:, None]  # (M, OW): slots 0, 2 end at column xc
    ty = torch.where(top, rows[None] - (yc[:, None] - h), rows[None] - yc[:, None])  # row inside the tile
    tx = torch.where(left, cols[None] - (xc[:, None] - w), cols[None] - xc[:, None])  # column inside the tile
    valid = ((ty >= 0) & (ty < h))[:, :, None] & ((tx >= 0) & (tx < w))[:, None, :]  # (M, OH, OW)
    slot = 2 * (~top).long()[:, :, None] + (~left).long()[:, None, :]  # (M, OH, OW) in 0..3
    return slot, ty.clamp(0, h - 1), tx.clamp(0, w - 1), valid


def apply_mosaic(images: torch.Tensor, params: MosaicParams,
                 fill: float = DEFAULT_FILL) -> tuple[torch.Tensor, torch.Tensor]:
    """Build the mosaics, deterministically (one gather, no Python loop over mosaics or pixels).

    Args:
        images: (N, C, h, w) floating-point images at ``params.tile_size``; not modified.
        params: a :class:`MosaicParams` (moved to the images' device).
        fill: the value of canvas pixels no image covers (YOLOv5: 114 of 255).

    Returns:
        ``(mosaics, areas)``: (M, C, OH, OW) mosaics in the input dtype and an (M, 4) int64 tensor that
        counts the output pixels each slot covers.

    Shape:
        - images: (N, C, h, w) -> (M, C, OH, OW)

    Examples:
        >>> x = torch.arange(4.0)[:, None, None, None].expand(4, 1, 4, 4)
        >>> p = MosaicParams(sources=torch.tensor([[0, 1, 2, 3]]), center=torch.tensor([[4, 4]]),
        ...                  tile_size=(4, 4), out_size=(4, 4))
        >>> out, areas = apply_mosaic(x, p)
        >>> out[0, 0].tolist(), areas.tolist()
        ([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]], [[4, 4, 4, 4]])
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a floating-point (N, C, H, W) tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not isinstance(params, MosaicParams) or params.sources.ndim != 2 or params.sources.shape[1] != 4:
        raise ValueError("params must be MosaicParams with (M, 4) sources (from sample_mosaic_params)")
    n, c, h, w = images.shape
    if (h, w) != tuple(params.tile_size):
        raise ValueError(f"params were sampled for tiles of size {tuple(params.tile_size)}, got images {(h, w)}")
    if not torch.compiler.is_compiling() and bool((params.sources >= n).any() | (params.sources < 0).any()):
        raise ValueError(f"params.sources index images outside the batch of {n}")
    return _build(images, params, fill)


def _build(images: torch.Tensor, params: MosaicParams, fill: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    n, c, h, w = images.shape
    m = params.sources.shape[0]
    oh, ow = params.out_size
    device = images.device
    slot, ty, tx, valid = _placement(params, device)
    src = params.sources.to(device).gather(1, slot.flatten(1)).view(m, oh, ow)  # image index of every pixel
    index = src * (h * w) + ty[:, :, None] * w + tx[:, None, :]  # (M, OH, OW) into the flattened batch
    flat = images.transpose(0, 1).reshape(c, n * h * w)  # (C, N h w)
    out = flat[:, index.flatten()].view(c, m, oh, ow).transpose(0, 1)  # (M, C, OH, OW)
    out = torch.where(valid[:, None], out, torch.full((), fill, dtype=images.dtype, device=device))
    areas = torch.zeros(m, 4, dtype=torch.long, device=device).scatter_add(1, slot.flatten(1),
                                                                            valid.flatten(1).long())
    return out.contiguous(), areas


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


def _check_generator(generator, device: torch.device) -> None:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{device.type}'; "
                         f"use torch.Generator(device='{device.type}')")


def area_soft_targets(targets: torch.Tensor, params: MosaicParams, areas: torch.Tensor,
                      num_classes: int) -> torch.Tensor:
    """Soft targets of mosaics: each source's one-hot label weighted by the fraction of the output it covers.

    Args:
        targets: (N,) class indices of the batch.
        params: the :class:`MosaicParams` the mosaics were built with.
        areas: (M, 4) pixel counts per slot, from :func:`apply_mosaic`.
        num_classes: K.

    Returns:
        (M, K) float32 soft targets. Each row sums to 1 (the covered pixels, without the grey fill).
    """
    areas = areas.to(torch.float32)
    weights = areas / areas.sum(1, keepdim=True).clamp_min(1.0)  # visible-area fraction of every slot
    labels = targets.to(areas.device).long()[params.sources.to(areas.device)]  # (M, 4)
    return torch.zeros(labels.shape[0], num_classes, device=areas.device).scatter_add(1, labels, weights)


def mosaic(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
           center_range: tuple[float, float] = (0.5, 1.5), fill: float = DEFAULT_FILL
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mosaic for classification batches: N mosaics of 4 images each, with area-weighted soft targets.

    Mosaic n contains image n and three other images of the batch (distinct when N >= 4). The tiles are
    the images themselves and the output has their size, so the grey fill never shows: the four visible
    areas add up to H x W.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the soft targets.
        generator: the explicit ``torch.Generator``, on the images' device.
        center_range: the mosaic centre is uniform in [low, high) x (H, W) on the (2H, 2W) canvas.
            The default (0.5, 1.5) is YOLOv5's.
        fill: the value of uncovered canvas pixels (unused at the default centre range).

    Returns:
        ``(mosaics, soft_targets)``: (N, C, H, W) in the input dtype, and (N, K) float32 soft targets,
        whose weights are the visible area fractions of the 4 sources.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.rand(4, 3, 16, 16), torch.arange(4)
        >>> out, soft = mosaic(x, y, num_classes=4, generator=torch.Generator().manual_seed(0))
        >>> out.shape, round(float(soft.sum(1).mean()), 6)
        (torch.Size([4, 3, 16, 16]), 1.0)
    """
    _check_batch(images, targets, num_classes)
    _check_generator(generator, images.device)
    n, _, h, w = images.shape
    params = sample_mosaic_params(n, n, (h, w), (h, w), generator, center_range)
    out, areas = _build(images, params, float(fill))
    return out, area_soft_targets(targets, params, areas, num_classes)


def _box_candidates(before: torch.Tensor, after: torch.Tensor, wh_thr: float, ar_thr: float,
                    area_thr: float) -> torch.Tensor:
    """YOLOv5 ``box_candidates``: keep boxes wider/taller than wh_thr px, aspect < ar_thr, area ratio > area_thr."""
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    ar = torch.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16))
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + 1e-16) > area_thr) & (ar < ar_thr)


def mosaic_with_boxes(images: torch.Tensor, boxes: list[torch.Tensor], labels: list[torch.Tensor], *,
                      generator: torch.Generator, out_size: int | None = None,
                      center_range: tuple[float, float] = (0.5, 1.5), fill: float = DEFAULT_FILL,
                      wh_thr: float = 2.0, ar_thr: float = 100.0, area_thr: float = 0.1
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mosaic for detection: one mosaic of 4 images, with boxes moved, clipped and filtered (YOLOv5).

    With exactly 4 images all four are used, in a random slot order. With N != 4, image 0 and three
    others are used (see :func:`sample_mosaic_params`).

    Args:
        images: (N, C, H, W) floating-point images, N >= 1 (normally 4); not modified.
        boxes: N tensors of shape (K_i, 4), absolute ``x1, y1, x2, y2`` pixel-edge coordinates in image i.
        labels: N tensors of shape (K_i,) with the class of each box.
        generator: the explicit ``torch.Generator``, on the images' device.
        out_size: S, the output side. None keeps (H, W). Otherwise the images are first resized so
            that their long side is S (YOLOv5 ``load_image``: ratio S / max(H, W), bilinear), and the output is S x S.
        center_range: the centre is uniform in [low, high) x S on the 2S canvas (YOLOv5: (0.5, 1.5)).
        fill: the value of uncovered canvas pixels (YOLOv5: 114 / 255).
        wh_thr: boxes at most this wide or tall (pixels) after clipping are dropped (YOLOv5: 2).
        ar_thr: boxes with an aspect ratio of at least this are dropped (YOLOv5: 100).
        area_thr: boxes that keep at most this fraction of their area after clipping are dropped (YOLOv5: 0.1).

    Returns:
        ``(image, boxes, labels)``: the (C, OH, OW) mosaic, the (K, 4) float32 xyxy boxes in it, and
        the (K,) labels of the boxes that survive.

    Shape:
        - images: (N, C, H, W) -> (C, OH, OW), with (OH, OW) = (S, S) or (H, W)

    Examples:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> b = [torch.tensor([[4.0, 4.0, 20.0, 20.0]])] * 4
        >>> lab = [torch.tensor([i]) for i in range(4)]
        >>> img, boxes, labels = mosaic_with_boxes(x, b, lab, generator=torch.Generator().manual_seed(0))
        >>> img.shape, boxes.shape[1]
        (torch.Size([3, 32, 32]), 4)
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a floating-point (N, C, H, W) tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    n, c, h, w = images.shape
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"images must be a non-empty batch of non-empty images, got {tuple(images.shape)}")
    if not (isinstance(boxes, (list, tuple)) and isinstance(labels, (list, tuple)) and len(boxes) == n
            and len(labels) == n):
        raise ValueError(f"boxes and labels must be lists of {n} tensors (one per image)")
    for i, (b, lab) in enumerate(zip(boxes, labels)):
        if not (isinstance(b, torch.Tensor) and b.ndim == 2 and b.shape[1] == 4):
            raise ValueError(f"boxes[{i}] must be a (K, 4) xyxy tensor, got "
                             f"{tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__}")
        if not (isinstance(lab, torch.Tensor) and lab.ndim == 1 and lab.shape[0] == b.shape[0]):
            raise ValueError(f"labels[{i}] must be a ({b.shape[0]},) tensor matching boxes[{i}]")
    _check_generator(generator, images.device)
    if out_size is None:
        tile, out = (h, w), (h, w)
        tiles = images
    else:
        _check_positive_int(out_size, "out_size")
        ratio = out_size / max(h, w)  # YOLOv5 load_image: r = img_size / max(h0, w0)
        tile, out = (max(1, int(h * ratio)), max(1, int(w * ratio))), (out_size, out_size)
        tiles = images if tile == (h, w) else F.interpolate(images, size=tile, mode="bilinear", align_corners=False)
    params = sample_mosaic_params(1, n, tile, out, generator, center_range)
    image, _ = _build(tiles, params, float(fill))

    # Boxes: shift each source's boxes by the offset of its tile in the output, clip, filter (load_mosaic).
    (th, tw), (oh, ow) = tile, out
    sy, sx = th / h, tw / w  # resize of the boxes with their image
    yc, xc = (int(v) for v in params.center[0].tolist())
    sources = params.sources[0].tolist()
    moved, kept_labels = [], []
    for k, src in enumerate(sources):  # 4 slots, not a loop over pixels or boxes
        oy = (yc - th if k < 2 else yc) - oh // 2  # top-left corner of the tile in output coordinates
        ox = (xc - tw if k % 2 == 0 else xc) - ow // 2
        b = boxes[src].to(device=images.device, dtype=torch.float32)
        scale = torch.tensor([sx, sy, sx, sy], device=images.device)
        shift = torch.tensor([ox, oy, ox, oy], dtype=torch.float32, device=images.device)
        before = b * scale + shift  # the box where its pixels land (unclipped)
        # Clip to the visible part of the tile: the canvas crop and the tile itself.
        lo = torch.tensor([max(ox, 0), max(oy, 0)] * 2, dtype=torch.float32, device=images.device)
        hi = torch.tensor([min(ox + tw, ow), min(oy + th, oh)] * 2, dtype=torch.float32, device=images.device)
        after = torch.minimum(torch.maximum(before, lo), hi)
        # YOLOv5 compares with the box clipped to the 2S canvas (load_mosaic's np.clip(x, 0, 2 * s)).
        c_lo = torch.tensor([-(ow // 2), -(oh // 2)] * 2, dtype=torch.float32, device=images.device)
        c_hi = torch.tensor([2 * ow - ow // 2, 2 * oh - oh // 2] * 2, dtype=torch.float32, device=images.device)
        on_canvas = torch.minimum(torch.maximum(before, c_lo), c_hi)
        keep = _box_candidates(on_canvas, after, wh_thr, ar_thr, area_thr)  # YOLOv5 box_candidates
        moved.append(after[keep])
        kept_labels.append(labels[src].to(images.device)[keep])
    return image[0], torch.cat(moved), torch.cat(kept_labels)
