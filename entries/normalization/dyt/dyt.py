"""Dynamic Tanh (Zhu, Chen, He, LeCun, Liu: "Transformers without Normalization", CVPR 2025, arXiv:2503.10622)."""

import torch
from torch import nn

# Low-precision inputs are computed in float32 and returned in their own dtype.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class DyT(nn.Module):
    """Element-wise drop-in replacement for LayerNorm/RMSNorm: gamma * tanh(alpha * x) + beta.

    Eq. 1: DyT(x) = gamma * tanh(alpha * x) + beta, with alpha a learnable *scalar* that scales the input
    before the squashing tanh, and gamma, beta learnable per-channel vectors (initialized to ones and
    zeros) like a normalization layer's affine (Algorithm 1). Unlike a normalization layer it computes no
    statistics: each element is transformed on its own. The paper observes that LayerNorm in trained
    Transformers maps inputs to outputs along tanh-like S-curves, nearly linear for most values and
    squashing the extreme ones, and DyT reproduces that shape directly.

    Parameter names (``alpha``, ``weight`` for gamma, ``bias`` for beta) follow the authors' code, so
    their state dicts load as they are (for the channels-last case).

    Args:
        dim: the number of channels D (the last dimension).
        alpha_init: the initial value alpha_0 of alpha (0.5, the default of the authors' code).

    Shape:
        - Input: (*, D), e.g. (N, L, D) tokens.
        - Output: (*, D), same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> dyt = DyT(64)
        >>> y = dyt(torch.randn(2, 10, 64) * 100)
        >>> y.shape
        torch.Size([2, 10, 64])
        >>> bool(y.abs().max() <= 1)  # gamma = 1, beta = 0 at initialization: |tanh| <= 1
        True
    """

    def __init__(self, dim: int, alpha_init: float = 0.5):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not isinstance(alpha_init, (int, float)) or isinstance(alpha_init, bool) or not -1e30 < alpha_init < 1e30:
            raise ValueError(f"alpha_init must be a finite number, got {alpha_init!r}")
        self.dim = dim
        self.alpha_init = float(alpha_init)
        self.alpha = nn.Parameter(torch.full((1,), float(alpha_init)))  # Eq. 1: one scalar per layer
        self.weight = nn.Parameter(torch.ones(dim))  # gamma, per channel (Algorithm 1: init ones)
        self.bias = nn.Parameter(torch.zeros(dim))  # beta, per channel (Algorithm 1: init zeros)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"expected an input of shape (*, {self.dim}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        dtype = xf.dtype
        y = torch.tanh(self.alpha.to(dtype) * xf)  # Eq. 1: tanh(alpha x), element-wise, (*, D)
        y = y * self.weight.to(dtype) + self.bias.to(dtype)  # Eq. 1: gamma * ... + beta, per channel
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.dim}, alpha_init={self.alpha_init}"
