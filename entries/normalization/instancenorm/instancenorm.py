"""Instance Normalization (Ulyanov, Vedaldi, Lempitsky: "Instance Normalization: The Missing Ingredient for
Fast Stylization", arXiv:1607.08022, 2016)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def instance_norm_reference(x: torch.Tensor, weight: Optional[torch.Tensor], bias: Optional[torch.Tensor],
                            eps: float = 1e-5) -> torch.Tensor:
    """Instance normalization written out from the paper's equation (Sec. 2).

    y_tijk = (x_tijk - mu_ti) / sqrt(sigma_ti^2 + eps), with mu_ti and the biased sigma_ti^2 taken over
    the spatial positions of image t and channel i only; then the optional per-channel gamma and beta.
    :class:`InstanceNorm` computes the same function with torch's fused kernels; the tests check that
    the two agree (outputs and gradients, float32 and float64). This function is the readable definition.

    Args:
        x: the input, (N, C, *) with at least one spatial dimension.
        weight: gamma, (C,), or None.
        bias: beta, (C,), or None.
        eps: added to the variance inside the square root.

    Returns:
        The normalized tensor, same shape and dtype as ``x``.

    Shape:
        - x: (N, C, *). Output: same shape.

    Examples:
        >>> import torch
        >>> x = torch.randn(2, 3, 6, 6)
        >>> torch.allclose(instance_norm_reference(x, None, None), torch.nn.functional.instance_norm(x), atol=1e-5)
        True
    """
    xf = x.float() if x.dtype in _LOW_PRECISION else x
    axes = tuple(range(2, xf.dim()))  # Sec. 2: sums over the spatial positions l, m only (not t, not i)
    mu = xf.mean(dim=axes, keepdim=True)  # mu_ti, (N, C, 1, 1)
    centered = xf - mu
    # sigma_ti^2: biased variance (1/HW), from the centered values (two passes, no E[x^2] - mu^2 cancellation).
    var = (centered * centered).mean(dim=axes, keepdim=True)  # (N, C, 1, 1)
    y = centered * torch.rsqrt(var + eps)  # Sec. 2: (x_tijk - mu_ti) / sqrt(sigma_ti^2 + eps)
    shape = (1, x.shape[1]) + (1,) * len(axes)  # (1, C, 1, 1)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y.to(x.dtype)


class InstanceNorm(nn.Module):
    """Normalizes every channel of every sample over its own spatial positions.

    Sec. 2 replaces batch normalization, whose mean and variance are taken over the batch and the
    spatial positions, by instance normalization, whose statistics belong to one image t and one channel
    i: y_tijk = (x_tijk - mu_ti) / sqrt(sigma_ti^2 + eps), with mu_ti = 1/(HW) sum_lm x_tilm and
    sigma_ti^2 = 1/(HW) sum_lm (x_tilm - mu_ti)^2. The same statistics are used in training and at test
    time (Sec. 2), so the layer has no running averages and no batch dependence. It removes the
    instance-specific contrast (mean and scale) of each feature channel, which the paper argues a
    stylization network should discard. It is Group Normalization with one channel per group (G = C).

    The forward runs torch's fused kernels, which compute exactly the function written out in
    :func:`instance_norm_reference` (tested equal, with gradients): ``torch.nn.functional.group_norm``
    with G = C groups for contiguous inputs (the fastest of torch's kernels for it), and
    ``torch.nn.functional.instance_norm`` otherwise (e.g. channels_last, where torch's CPU group-norm
    kernel computes one-pass moments). Matches ``torch.nn.InstanceNorm2d(channels, eps, affine)`` with its default
    ``track_running_stats=False`` (same ``weight``/``bias`` names when ``affine=True``).

    Args:
        channels: the number of channels C.
        eps: added to the variance inside the square root, sqrt(sigma^2 + eps) (1e-5, torch's default).
        affine: learn a per-channel scale gamma and shift beta (initialized to 1 and 0). The paper's
            equation has none; False by default, as in ``torch.nn.InstanceNorm2d``.

    Shape:
        - Input: (N, C, H, W), or (N, C, *) with at least one spatial dimension.
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> norm = InstanceNorm(3)
        >>> y = norm(torch.rand(2, 3, 8, 8) * 5 + 2)
        >>> y.shape
        torch.Size([2, 3, 8, 8])
        >>> bool(y.mean(dim=(2, 3)).abs().max() < 1e-5)
        True
    """

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = False):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        self.channels = channels
        self.eps = float(eps)
        self.affine = bool(affine)
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))  # gamma, per channel (optional; not in Sec. 2)
            self.bias = nn.Parameter(torch.zeros(channels))  # beta, per channel (optional; not in Sec. 2)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W) (or (N, {self.channels}, *) "
                             f"with at least one spatial dimension), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        w, b = self.weight, self.bias
        if w is not None and w.dtype != x.dtype:
            # Mixed dtypes (e.g. bfloat16 input, float32 layer): compute in the wider type, return x's dtype.
            dtype = torch.promote_types(x.dtype, w.dtype)
            return self._fused(x.to(dtype), w.to(dtype), b.to(dtype)).to(x.dtype)
        return self._fused(x, w, b)

    def _fused(self, x: torch.Tensor, w: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> torch.Tensor:
        # Sec. 2 (= instance_norm_reference) in torch's fused kernels: float32 statistics for low precision.
        if x.is_contiguous():  # IN is GN with one channel per group (G = C); torch's GN kernel is the fastest
            return F.group_norm(x, self.channels, w, b, self.eps)
        return F.instance_norm(x, None, None, w, b, use_input_stats=True, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, affine={self.affine}"
