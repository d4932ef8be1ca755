"""Group Normalization (Wu, He: "Group Normalization", ECCV 2018, arXiv:1803.08494)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def group_norm_reference(x: torch.Tensor, num_groups: int, weight: Optional[torch.Tensor],
                         bias: Optional[torch.Tensor], eps: float = 1e-5) -> torch.Tensor:
    """Group normalization written out as the paper's TensorFlow code (Sec. 3.2, Fig. 3).

    Reshape (N, C, *) to (N, G, C/G, *), take the mean and biased variance over all axes but N and G
    (the set S_i of Eq. 7), normalize (Eq. 1-2), reshape back and apply the per-channel gamma and beta
    (Eq. 6). :class:`GroupNorm` computes the same function with torch's fused kernel
    (``torch.nn.functional.group_norm``); the tests check that the two agree (outputs and gradients,
    float32 and float64). This function is the readable definition.

    Args:
        x: the input, (N, C, *), C divisible by ``num_groups``.
        num_groups: the number of groups G.
        weight: gamma, (C,), or None.
        bias: beta, (C,), or None.
        eps: added to the variance inside the square root (Eq. 2).

    Returns:
        The normalized tensor, same shape and dtype as ``x``.

    Shape:
        - x: (N, C, *). Output: same shape.

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 8, 5, 5)
        >>> torch.allclose(group_norm_reference(x, 4, None, None), torch.nn.functional.group_norm(x, 4), atol=1e-5)
        True
    """
    n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    g = num_groups
    xf = x.float() if x.dtype in _LOW_PRECISION else x
    xg = xf.reshape(n, g, c // g, *spatial)  # Fig. 3: (N, G, C/G, H, W)
    axes = tuple(range(2, xg.dim()))  # Fig. 3: moments over [2, 3, 4] = the set S_i of Eq. 7
    mu = xg.mean(dim=axes, keepdim=True)  # Eq. 2, (N, G, 1, 1, 1)
    centered = xg - mu
    # Eq. 2: biased variance (1/m) from the centered values (two passes: no E[x^2] - mu^2 cancellation).
    var = (centered * centered).mean(dim=axes, keepdim=True)  # (N, G, 1, 1, 1)
    y = centered * torch.rsqrt(var + eps)  # Eq. 1 with sigma = sqrt(var + eps) of Eq. 2
    y = y.reshape(n, c, *spatial)  # Fig. 3: back to (N, C, H, W)
    shape = (1, c) + (1,) * len(spatial)  # (1, C, 1, 1): gamma and beta are per channel (Eq. 6)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y.to(x.dtype)


class GroupNorm(nn.Module):
    """Normalizes each sample over groups of C/G channels and all spatial positions, then scales per channel.

    Sec. 3.1: x_hat_i = (x_i - mu_i) / sigma_i (Eq. 1) with mu_i, sigma_i the mean and std over the set
    S_i (Eq. 2), which for GN is "the same sample and the same group of C/G consecutive channels" (Eq. 7);
    then y_i = gamma * x_hat_i + beta with a per-channel gamma and beta (Eq. 6). The computation follows
    the paper's TensorFlow code (Sec. 3.2, Fig. 3): reshape (N, C, H, W) to (N, G, C/G, H, W), take the
    moments over the last three axes, reshape back, scale and shift. G = 1 is Layer Normalization over
    (C, H, W) and G = C is Instance Normalization (Sec. 3.1, "Relation to Prior Work").

    The forward runs torch's fused kernel, ``torch.nn.functional.group_norm``, which computes exactly
    the function of Fig. 3 written out in :func:`group_norm_reference` (tested equal, with gradients).
    Matches ``torch.nn.GroupNorm(num_groups, channels, eps, affine)`` (same ``weight``/``bias`` names).

    Args:
        channels: the number of channels C; must be divisible by ``num_groups``.
        num_groups: the number of groups G (32 by default, Sec. 3.1 and Sec. 4.1).
        eps: the small constant added to the variance inside the square root (Eq. 2; 1e-5 in Fig. 3).
        affine: learn the per-channel scale gamma and shift beta of Eq. 6 (initialized to 1 and 0).

    Shape:
        - Input: (N, C, H, W), or (N, C, *) with any number of spatial dimensions (including none).
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> gn = GroupNorm(64, num_groups=32)
        >>> gn(torch.randn(2, 64, 7, 9)).shape
        torch.Size([2, 64, 7, 9])
    """

    def __init__(self, channels: int, num_groups: int = 32, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        for name, value in (("channels", channels), ("num_groups", num_groups)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if channels % num_groups != 0:
            raise ValueError(f"channels ({channels}) must be divisible by num_groups ({num_groups}): "
                             f"GN splits the channels into G groups of C/G channels (Sec. 3.1, Eq. 7)")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        self.channels = channels
        self.num_groups = num_groups
        self.eps = float(eps)
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))  # gamma, per channel (Eq. 6; init 1, Sec. 4.1)
            self.bias = nn.Parameter(torch.zeros(channels))  # beta, per channel (Eq. 6)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, *), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        w, b = self.weight, self.bias
        if w is not None and w.dtype != x.dtype:
            # Mixed dtypes (e.g. bfloat16 input, float32 layer): compute in the wider type, return x's dtype.
            dtype = torch.promote_types(x.dtype, w.dtype)
            return F.group_norm(x.to(dtype), self.num_groups, w.to(dtype), b.to(dtype), self.eps).to(x.dtype)
        # Eq. 1, 2, 6, 7 (= group_norm_reference) in torch's fused kernel: float32 statistics for low precision.
        return F.group_norm(x, self.num_groups, w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, num_groups={self.num_groups}, eps={self.eps}, affine={self.affine}"
