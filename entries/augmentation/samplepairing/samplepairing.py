"""SamplePairing (Inoue: "Data Augmentation by Pairing Samples for Images Classification", arXiv:1801.02929, 2018).

A batch augmentation: every image is averaged pixel by pixel with another, randomly chosen training image,
and the sample keeps the label of the FIRST image (Sec. 2; abstract: "taking an average of two images for
each pixel"). Unlike mixup, the label is not mixed: the soft target of a paired image is its own one-hot
label. With N training images this gives N^2 distinct (image, partner) samples (abstract).

The paper switches SamplePairing on and off during training (off for the first epochs, then intermittently
on/off, off again for the final fine-tuning); that schedule belongs to the training loop, which sets ``p``
(p = 0 is "disabled", p = 1 is "enabled"). Here the partner is drawn from the current batch.

The random parameters are drawn by :func:`sample_samplepairing_params` and applied by the deterministic
:func:`apply_samplepairing`; :func:`samplepairing` does both. All randomness comes from the explicit
``torch.Generator``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplePairingParams:
    """The random parameters of one SamplePairing draw.

    Attributes:
        partner: (N,) int64 tensor; image i is averaged with image ``partner[i]`` of the batch, drawn
            independently and uniformly for every image (Sec. 2: "another image randomly picked").
        paired: (N,) bool tensor; whether image i is paired at all (probability ``p``).
    """

    partner: torch.Tensor
    paired: torch.Tensor


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def sample_samplepairing_params(batch_size: int, generator: torch.Generator, p: float = 1.0) -> SamplePairingParams:
    """Draw a partner for every image of the batch, on the generator's device.

    Args:
        batch_size: N, the number of images (> 0).
        generator: the explicit random generator.
        p: probability that an image is paired. The paper's schedule enables SamplePairing for whole
            epochs and disables it for others: that is ``p = 1`` and ``p = 0`` set by the training loop.

    Returns:
        A :class:`SamplePairingParams`.

    Examples:
        >>> params = sample_samplepairing_params(4, torch.Generator().manual_seed(0))
        >>> params.partner.shape, bool(params.paired.all())
        (torch.Size([4]), True)
    """
    _check_positive_int(batch_size, "batch_size")
    _check_probability(p)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    # Sec. 2: the second image is picked at random for every sample, independently (with replacement).
    partner = torch.randint(0, batch_size, (batch_size,), generator=generator, device=device)
    paired = torch.rand(batch_size, generator=generator, device=device) < p
    return SamplePairingParams(partner=partner, paired=paired)


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


def apply_samplepairing(images: torch.Tensor, targets: torch.Tensor, params: SamplePairingParams,
                        num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Average each paired image with its partner and keep its own label (Sec. 2), deterministically.

    x~_i = (x_i + x_partner[i]) / 2 for paired images, x_i otherwise; y~_i = one-hot(y_i) always.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        params: the :class:`SamplePairingParams` to apply (moved to the images' device).
        num_classes: K, the width of the (one-hot) targets.

    Returns:
        ``(paired_images, targets_one_hot)``: images in the input dtype and (N, K) float32 one-hot targets.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)]), torch.tensor([0, 1])
        >>> params = SamplePairingParams(partner=torch.tensor([1, 0]), paired=torch.tensor([True, False]))
        >>> out, soft = apply_samplepairing(x, y, params, num_classes=2)
        >>> out[0, 0, 0, 0].item(), out[1, 0, 0, 0].item(), soft.tolist()
        (0.5, 1.0, [[1.0, 0.0], [0.0, 1.0]])
    """
    _check_batch(images, targets, num_classes)
    n = images.shape[0]
    if (not isinstance(params, SamplePairingParams) or params.partner.shape != (n,)
            or params.paired.shape != (n,)):
        raise ValueError(f"params must be SamplePairingParams with ({n},) partner and paired tensors "
                         f"(from sample_samplepairing_params)")
    return _pair(images, targets, params, num_classes)


def _pair(images: torch.Tensor, targets: torch.Tensor, params: SamplePairingParams,
          num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The apply step on validated inputs."""
    device = images.device
    partner = params.partner.to(device)
    paired = params.paired.to(device)[:, None, None, None]  # (N, 1, 1, 1)
    average = (images + images[partner]) * 0.5  # Sec. 2: the per-pixel average of the two images
    out = torch.where(paired, average, images)
    # Sec. 2: the label of the first image is kept; the partner's label is discarded (not mixed).
    return out, _one_hot(targets.to(device), num_classes)


def samplepairing(images: torch.Tensor, targets: torch.Tensor, *, num_classes: int, generator: torch.Generator,
                  p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """SamplePairing: average every image with a random partner of the batch, keep its own label.

    Args:
        images: (N, C, H, W) floating-point images; not modified.
        targets: (N,) integer class indices in [0, num_classes).
        num_classes: K, the width of the returned targets.
        generator: the explicit ``torch.Generator``, on the images' device.
        p: probability that an image is paired (default 1.0: SamplePairing "enabled"). The paper's
            on/off schedule over epochs is training-loop policy: pass ``p=0.0`` in disabled epochs.

    Returns:
        ``(images, targets)``: paired images in the input dtype and (N, K) float32 one-hot targets,
        equal to ``one_hot(targets)``: the label is never mixed.

    Shape:
        - images: (N, C, H, W) -> (N, C, H, W)
        - targets: (N,) -> (N, K)

    Examples:
        >>> x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
        >>> out, soft = samplepairing(x, y, num_classes=4, generator=torch.Generator().manual_seed(0))
        >>> out.shape, torch.equal(soft, torch.eye(4))
        (torch.Size([4, 3, 8, 8]), True)
    """
    _check_batch(images, targets, num_classes)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(f"generator is on '{generator.device.type}' but images are on '{images.device.type}'; "
                         f"use torch.Generator(device='{images.device.type}')")
    params = sample_samplepairing_params(images.shape[0], generator, p)
    return _pair(images, targets, params, num_classes)
