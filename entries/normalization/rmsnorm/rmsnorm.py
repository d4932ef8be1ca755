"""Root Mean Square Layer Normalization (Zhang, Sennrich: "Root Mean Square Layer Normalization",
NeurIPS 2019, arXiv:1910.07467)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def rms_norm_reference(x: torch.Tensor, weight: Optional[torch.Tensor], eps: Optional[float] = None) -> torch.Tensor:
    """RMS normalization over the last dimension, written out from the paper's Eq. 4.

    a_bar_i = a_i / RMS(a) * g_i with RMS(a) = sqrt((1/n) sum_i a_i^2 + eps). :class:`RMSNorm` computes the
    same function with torch's kernel (``torch.nn.functional.rms_norm``); the tests check that the two
    agree (outputs and gradients, float32 and float64). This function is the readable definition.

    Args:
        x: the summed inputs a, (*, D).
        weight: the gain g, (D,), or None (no gain).
        eps: added to the mean square; None: the machine epsilon of the computation dtype (float32 for
            float16/bfloat16 inputs), as torch does. Eq. 4 has none: eps=0.

    Returns:
        The normalized tensor, same shape and dtype as ``x``.

    Shape:
        - x: (*, D). Output: (*, D).

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 5, 16)
        >>> torch.allclose(rms_norm_reference(x, None), torch.nn.functional.rms_norm(x, (16,)), atol=1e-6)
        True
    """
    a = x.float() if x.dtype in _LOW_PRECISION else x  # the summed inputs a of Eq. 1
    # eps=None: the machine epsilon of the computation dtype (float32 for float16/bfloat16 inputs),
    # as torch.nn.RMSNorm does.
    eps = torch.finfo(a.dtype).eps if eps is None else eps
    mean_square = (a * a).mean(dim=-1, keepdim=True)  # Eq. 4: (1/n) sum_i a_i^2, (*, 1)
    # Deviation: eps inside the square root, sqrt(mean(a^2) + eps), like torch; Eq. 4 has none.
    y = a * torch.rsqrt(mean_square + eps)  # Eq. 4: a_i / RMS(a), (*, D); no mean subtracted
    if weight is not None:
        y = y * weight  # Eq. 4: times the gain g_i; no bias (no re-centering)
    return y.to(x.dtype)


class RMSNorm(nn.Module):
    """Re-scales each token by the root mean square of its D features, then applies a per-feature gain.

    Eq. 4: a_bar_i = a_i / RMS(a) * g_i with RMS(a) = sqrt((1/n) sum_i a_i^2), over the n summed inputs
    of a layer on one training case. Unlike LayerNorm there is no re-centering (no mean subtracted) and
    no bias: the layer keeps LayerNorm's re-scaling invariance and drops its re-centering invariance
    (the authors' Table 1). Here n is the last dimension D of the input; every other dimension (batch,
    sequence position) gets its own RMS, so the computation is the same in training and evaluation.

    The forward runs torch's kernel, ``torch.nn.functional.rms_norm`` (fused where torch has one), which
    computes exactly Eq. 4 as written out in :func:`rms_norm_reference` (tested equal, with gradients).
    It matches ``torch.nn.RMSNorm(dim, eps)`` (same ``weight`` name, so state dicts load both ways).

    Args:
        dim: the number of features D normalized together (the paper's n).
        eps: added to the mean square inside the square root, sqrt(mean(a^2) + eps), as torch and the
            authors' TensorFlow/Theano code do. ``None`` (default) uses the machine epsilon of the
            computation dtype (float32 for float16/bfloat16 inputs), as ``torch.nn.RMSNorm`` does.
            Eq. 4 has no eps; ``eps=0`` gives its exact formula (undefined for an all-zero token).
        elementwise_affine: learn the gain g of Eq. 4 (initialized to 1).

    Shape:
        - Input: (*, D), e.g. (N, L, D) tokens or (N, D) hidden layers.
        - Output: (*, D), same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> norm = RMSNorm(64)
        >>> y = norm(torch.randn(2, 10, 64) + 3)
        >>> y.shape
        torch.Size([2, 10, 64])
        >>> bool((y.square().mean(-1).sqrt() - 1).abs().max() < 1e-5)
        True
    """

    def __init__(self, dim: int, eps: Optional[float] = None, elementwise_affine: bool = True):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if eps is not None and not eps >= 0:
            raise ValueError(f"eps must be non-negative or None, got {eps!r}")
        self.dim = dim
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(dim))  # gain g, Eq. 4 (init 1)
        else:
            self.register_parameter("weight", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"expected an input of shape (*, {self.dim}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        w = self.weight
        if w is not None and w.dtype != x.dtype:
            # Mixed dtypes (e.g. bfloat16 input, float32 layer): compute in the wider type, return x's dtype.
            dtype = torch.promote_types(x.dtype, w.dtype)
            return F.rms_norm(x.to(dtype), (self.dim,), w.to(dtype), self.eps).to(x.dtype)
        # Eq. 4 (= rms_norm_reference) in torch's kernel: float32 statistics and eps for low precision.
        return F.rms_norm(x, (self.dim,), w, self.eps)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
