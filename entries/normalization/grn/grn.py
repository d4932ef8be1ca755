"""Global Response Normalization (Woo et al.: "ConvNeXt V2: Co-designing and Scaling ConvNets with Masked
Autoencoders", CVPR 2023, arXiv:2301.00808)."""

import torch
from torch import nn

# The squared sums of low-precision inputs are accumulated in float32 (a float16 sum of squares
# overflows at 65504).
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class GRN(nn.Module):
    """Makes channels compete: scales each channel by its global response relative to the others.

    Three steps on a feature map X (Sec. "Global Response Normalization", Eq. 1-3, Algorithm 1):

    1. Global feature aggregation (Eq. 1): G(X)_i = ||X_i||_2, the L2 norm of channel i over all
       spatial positions, one number per sample and channel.
    2. Feature normalization (Eq. 2): N(G(X)_i) = G(X)_i / (mean_j G(X)_j + eps), the channel's response
       relative to the mean response of all channels of the same sample (divisive normalization).
    3. Feature calibration (Eq. 3) with a residual: X_i <- gamma_i * (X_i * N(G(X)_i)) + beta_i + X_i.

    gamma and beta are zero-initialised, so the layer starts as the identity. In ConvNeXt V2 it sits after
    the expansion MLP layer (after GELU) of each block, replacing LayerScale.

    The paper's Algorithm 1 and the authors' code take channels-last input (N, H, W, C); this
    implementation takes the encyclopedia's feature-map layout (N, C, H, W) and reduces over the
    corresponding axes, computing the same function (tested against a channels-last transcription of
    Algorithm 1). Parameters are named ``gamma`` and ``beta`` like the authors' code but have shape (C,):
    load their (1, 1, 1, C) tensors with ``.reshape(-1)``.

    Args:
        channels: the number of channels C.
        eps: added to the mean channel norm in the denominator of step 2 (1e-6, as in Algorithm 1 and
            the authors' code).

    Shape:
        - Input: (N, C, H, W), or (N, C, *) with at least one spatial dimension.
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> grn = GRN(64)
        >>> x = torch.randn(2, 64, 7, 7)
        >>> torch.equal(grn(x), x)  # gamma = beta = 0 at initialization
        True
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        self.channels = channels
        self.eps = float(eps)
        self.gamma = nn.Parameter(torch.zeros(channels))  # Eq. 3, per channel, zero-initialised
        self.beta = nn.Parameter(torch.zeros(channels))  # Eq. 3, per channel, zero-initialised

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W) (or (N, {self.channels}, *) "
                             f"with at least one spatial dimension), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        axes = tuple(range(2, xf.dim()))  # the spatial axes; Algorithm 1 reduces dim=(1, 2) of (N, H, W, C)
        gx = torch.linalg.vector_norm(xf, ord=2, dim=axes, keepdim=True)  # Eq. 1: ||X_i||, (N, C, 1, 1)
        nx = gx / (gx.mean(dim=1, keepdim=True) + self.eps)  # Eq. 2: relative to the mean over channels
        shape = (1, self.channels) + (1,) * len(axes)  # (1, C, 1, 1)
        gamma = self.gamma.reshape(shape).to(xf.dtype)
        beta = self.beta.reshape(shape).to(xf.dtype)
        y = gamma * (xf * nx) + beta + xf  # Eq. 3 with the residual X_i
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}"
