"""Layer Normalization (Ba, Kiros, Hinton: "Layer Normalization", arXiv:1607.06450, 2016)."""

import torch
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class LayerNorm(nn.Module):
    """Normalizes each token over its D features with its own mean and standard deviation.

    Sec. 3, Eq. 3 computes the statistics over the H hidden units of a layer on a single training
    case, mu = (1/H) sum_i a_i and sigma = sqrt((1/H) sum_i (a_i - mu)^2); Sec. 3.1, Eq. 4 (and
    Sec. 5.1, Eq. 5) then applies a per-unit gain g and bias b: g / sigma * (a - mu) + b. Here H is the
    last dimension D of the input, and every other dimension (batch, sequence position) gets its own
    statistics, so the layer computes the same thing in training and in evaluation (Sec. 1) and never
    mixes samples of a batch.

    Written from the equations, not with ``torch.nn.functional.layer_norm``; it matches
    ``torch.nn.LayerNorm(dim, eps)`` (same ``weight``/``bias`` names, so state dicts load both ways).

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
        a = x.float() if x.dtype in _LOW_PRECISION else x  # the summed inputs a of Eq. 1
        mu = a.mean(dim=-1, keepdim=True)  # Eq. 3: mean over the H units, (*, 1)
        centered = a - mu  # (*, D)
        # Eq. 3: biased variance (1/H), from the centered values (two passes: no E[a^2] - mu^2 cancellation).
        var = (centered * centered).mean(dim=-1, keepdim=True)  # (*, 1)
        # Deviation: eps inside the square root, sqrt(var + eps), like torch.nn.LayerNorm; Eq. 3 has none.
        y = centered * torch.rsqrt(var + self.eps)  # (a - mu) / sigma, (*, D)
        if self.weight is not None:
            y = y * self.weight + self.bias  # Eq. 4: g * (a - mu) / sigma + b, per unit
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
