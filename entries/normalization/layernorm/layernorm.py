"""Layer Normalization (Ba, Kiros, Hinton: "Layer Normalization", arXiv:1607.06450, 2016)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def layer_norm_reference(x: torch.Tensor, weight: Optional[torch.Tensor], bias: Optional[torch.Tensor],
                         eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization over the last dimension, written out from the paper's equations.

    Sec. 3, Eq. 3: mu = (1/H) sum_i a_i and sigma = sqrt((1/H) sum_i (a_i - mu)^2) over the H units of one
    training case; Sec. 3.1, Eq. 4: g / sigma * (a - mu) + b. :class:`LayerNorm` computes the same
    function with torch's fused kernel (``torch.nn.functional.layer_norm``); the tests check that the two
    agree (outputs and gradients, float32 and float64). This function is the readable definition.

    Args:
        x: the summed inputs a, (*, D).
        weight: the gain g, (D,), or None (no gain).
        bias: the bias b, (D,), or None (no bias).
        eps: added to the variance inside the square root (the paper has none: eps=0).

    Returns:
        The normalized tensor, same shape and dtype as ``x``.

    Shape:
        - x: (*, D). Output: (*, D).

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 5, 16)
        >>> y = layer_norm_reference(x, torch.ones(16), torch.zeros(16))
        >>> torch.allclose(y, torch.nn.functional.layer_norm(x, (16,)), atol=1e-5)
        True
    """
    a = x.float() if x.dtype in _LOW_PRECISION else x  # the summed inputs a of Eq. 1
    mu = a.mean(dim=-1, keepdim=True)  # Eq. 3: mean over the H units, (*, 1)
    centered = a - mu  # (*, D)
    # Eq. 3: biased variance (1/H), from the centered values (two passes: no E[a^2] - mu^2 cancellation).
    var = (centered * centered).mean(dim=-1, keepdim=True)  # (*, 1)
    # Deviation: eps inside the square root, sqrt(var + eps), like torch.nn.LayerNorm; Eq. 3 has none.
    y = centered * torch.rsqrt(var + eps)  # (a - mu) / sigma, (*, D)
    if weight is not None:
        y = y * weight  # Eq. 4: times the gain g, per unit
    if bias is not None:
        y = y + bias  # Eq. 4: plus the bias b, per unit
    return y.to(x.dtype)


class LayerNorm(nn.Module):
    """Normalizes each token over its D features with its own mean and standard deviation.

    Sec. 3, Eq. 3 computes the statistics over the H hidden units of a layer on a single training
    case, mu = (1/H) sum_i a_i and sigma = sqrt((1/H) sum_i (a_i - mu)^2); Sec. 3.1, Eq. 4 (and
    Sec. 5.1, Eq. 5) then applies a per-unit gain g and bias b: g / sigma * (a - mu) + b. Here H is the
    last dimension D of the input, and every other dimension (batch, sequence position) gets its own
    statistics, so the layer computes the same thing in training and in evaluation (Sec. 1) and never
    mixes samples of a batch.

    The forward runs torch's fused kernel, ``torch.nn.functional.layer_norm``, which computes exactly
    the function of Eq. 3-4 written out in :func:`layer_norm_reference` (tested equal, with gradients).
    It matches ``torch.nn.LayerNorm(dim, eps)`` (same ``weight``/``bias`` names, so state dicts load
    both ways).

    Args:
        dim: the number of features D normalized together (the paper's H).
        eps: added to the variance inside the square root, sqrt(sigma^2 + eps), as torch does. The
            paper has no eps (Eq. 3); eps=0 gives its exact formula (undefined for a constant token).
        elementwise_affine: learn the gain g and bias b of Eq. 4 (initialized to 1 and 0, Sec. 6).

    Shape:
        - Input: (*, D), e.g. (N, L, D) tokens or (N, D) hidden layers.
        - Output: (*, D), same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> ln = LayerNorm(64)
        >>> y = ln(torch.randn(2, 10, 64))
        >>> y.shape
        torch.Size([2, 10, 64])
        >>> bool(y.mean(-1).abs().max() < 1e-5)
        True
    """

    def __init__(self, dim: int, eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        self.dim = dim
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(dim))  # gain g, Eq. 4 (init 1, Sec. 6)
            self.bias = nn.Parameter(torch.zeros(dim))  # bias b, Eq. 4 (init 0, Sec. 6)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"expected an input of shape (*, {self.dim}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        w, b = self.weight, self.bias
        if w is not None and w.dtype != x.dtype:
            # Mixed dtypes (e.g. bfloat16 input, float32 layer): compute in the wider type, return x's dtype.
            dtype = torch.promote_types(x.dtype, w.dtype)
            return F.layer_norm(x.to(dtype), (self.dim,), w.to(dtype), b.to(dtype), self.eps).to(x.dtype)
        # Eq. 3-4 (= layer_norm_reference) in torch's fused kernel: float32 statistics for low precision.
        return F.layer_norm(x, (self.dim,), w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
