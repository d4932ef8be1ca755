"""Filter Response Normalization with a Thresholded Linear Unit (Singh, Krishnan: "Filter Response
Normalization Layer: Eliminating Batch Dependence in the Training of Deep Neural Networks", CVPR 2020,
arXiv:1911.09737)."""

import torch
from torch import nn

# The mean squared norm of low-precision inputs is accumulated in float32.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class FilterResponseNorm(nn.Module):
    """Normalizes each channel of each sample by its mean squared norm, then scales, shifts and thresholds it.

    For one sample b and one channel c, let x be the N = H * W filter responses X[b, c, :, :]. The layer
    computes (Sec. 3)

    - nu^2 = sum_i x_i^2 / N, the mean squared norm (Eq. 1), with no mean subtraction;
    - x_hat = x / sqrt(nu^2 + eps) (Eq. 2);
    - y = gamma * x_hat + beta, one gamma and beta per channel (Eq. 3);
    - z = max(y, tau), the Thresholded Linear Unit (TLU) with a learned threshold tau per channel (Eq. 4).

    Nothing is shared between samples, so training and inference compute the same function and the output
    of a sample does not depend on the rest of its batch. FRN replaces both the normalization and the
    activation (the paper's "FRN layer" is FRN followed by TLU); ``apply_tlu=False`` leaves out Eq. 4.

    For 1 x 1 activation maps (N = 1), nu^2 = x^2 and x_hat = x / sqrt(x^2 + eps) is close to sign(x); the paper
    makes eps learnable for such layers. With ``learnable_eps=True`` the constant becomes
    eps + |eps_l|, with a learned scalar eps_l (``eps_learned``) and ``eps`` kept as a fixed lower bound.

    Args:
        channels: the number of channels C (one gamma, beta and tau each).
        eps: the positive constant added to nu^2 (Eq. 2); a fixed lower bound with ``learnable_eps``.
        learnable_eps: learn an extra scalar |eps_l| added to ``eps`` (for 1 x 1 activation maps).
        apply_tlu: apply the TLU z = max(y, tau) (Eq. 4). If False, the layer has no tau and returns y.

    Shape:
        - Input: (N, C, H, W), or more generally (N, C, *) ((N, C) is the 1 x 1 case).
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> frn = FilterResponseNorm(16)
        >>> x = torch.randn(4, 16, 8, 8)
        >>> z = frn(x)
        >>> z.shape
        torch.Size([4, 16, 8, 8])
        >>> bool((z >= frn.tau.reshape(1, 16, 1, 1)).all())  # the TLU floor
        True
        >>> torch.allclose(frn(x[:1]), z[:1])  # no dependence on the other samples
        True
    """

    def __init__(self, channels: int, eps: float = 1e-6, learnable_eps: bool = False, apply_tlu: bool = True):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive (it prevents a division by zero, Eq. 2), got {eps!r}")
        self.channels = channels
        self.eps = float(eps)
        self.learnable_eps = learnable_eps
        self.apply_tlu = apply_tlu
        self.weight = nn.Parameter(torch.ones(channels))  # gamma of Eq. 3, per channel
        self.bias = nn.Parameter(torch.zeros(channels))  # beta of Eq. 3, per channel
        if apply_tlu:
            self.tau = nn.Parameter(torch.zeros(channels))  # tau of Eq. 4, per channel
        else:
            self.register_parameter("tau", None)
        if learnable_eps:
            # The learned part of eps for 1 x 1 maps. Its initial value is our choice (a non-zero start, since
            # |.| has a zero gradient at 0); the paper's initialization could not be checked.
            self.eps_learned = nn.Parameter(torch.tensor(1e-4))
        else:
            self.register_parameter("eps_learned", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, *), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        shape = (1, self.channels) + (1,) * (x.dim() - 2)  # (1, C, 1, 1): per-channel parameters
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        if x.dim() > 2:
            nu2 = xf.square().mean(dim=tuple(range(2, x.dim())), keepdim=True)  # Eq. 1: (N, C, 1, 1)
        else:
            nu2 = xf.square()  # Eq. 1 with a 1 x 1 map: nu^2 = x^2, (N, C)
        eps = self.eps
        if self.eps_learned is not None:
            eps = self.eps_learned.abs().to(xf.dtype) + self.eps  # learned eps for 1 x 1 maps
        x_hat = xf * torch.rsqrt(nu2 + eps)  # Eq. 2
        y = x_hat * self.weight.reshape(shape).to(xf.dtype) + self.bias.reshape(shape).to(xf.dtype)  # Eq. 3
        if self.tau is not None:
            y = torch.maximum(y, self.tau.reshape(shape).to(xf.dtype))  # Eq. 4: TLU, z = max(y, tau)
        return y.to(x.dtype)

    def extra_repr(self) -> str:
        return (f"{self.channels}, eps={self.eps}, learnable_eps={self.learnable_eps}, "
                f"apply_tlu={self.apply_tlu}")
