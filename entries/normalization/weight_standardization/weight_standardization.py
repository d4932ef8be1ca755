"""Weight Standardization (Qiao, Wang, Liu, Shen, Yuille: "Micro-Batch Training with Batch-Channel
Normalization and Weight Standardization", arXiv:1903.10520, 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision weights are computed in float32.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def standardize_weight(weight: torch.Tensor, eps: float = 1e-5, unbiased: bool = False) -> torch.Tensor:
    """W_hat_i = (W_i - mu_i) / (sigma_i + eps) for every output filter i (Sec. "Weight Standardization").

    mu_i and sigma_i are the mean and standard deviation of the I = C_in * kh * kw weights of output
    channel i.

    Args:
        weight: a kernel (C_out, C_in, *kernel), e.g. (C_out, C_in, kh, kw); or a (C_out, C_in) matrix.
        eps: added to the standard deviation (1e-5, the authors' code).
        unbiased: use the 1/(I - 1) variance of the authors' PyTorch code (``Tensor.std``) instead of the
            paper's 1/I.

    Returns:
        The standardized kernel, same shape and dtype.

    Examples:
        >>> import torch
        >>> w = standardize_weight(torch.randn(8, 4, 3, 3) * 0.1 + 2)
        >>> bool(w.flatten(1).mean(1).abs().max() < 1e-5)
        True
    """
    if weight.dim() < 2:
        raise ValueError(f"expected a weight of shape (C_out, C_in, *kernel), got {tuple(weight.shape)}")
    wf = weight.float() if weight.dtype in _LOW_PRECISION else weight
    axes = tuple(range(1, wf.dim()))  # (C_in, kh, kw): the I weights of one output channel
    var, mu = torch.var_mean(wf, dim=axes, correction=1 if unbiased else 0, keepdim=True)  # (C_out, 1, 1, 1)
    w_hat = (wf - mu) / (var.sqrt() + eps)  # W_hat = (W - mu) / (sigma + eps)
    return w_hat.to(weight.dtype)


class WSConv2d(nn.Conv2d):
    """A C -> C convolution with Weight Standardization: each output filter is standardized to zero mean and
    unit variance before the convolution, in a differentiable way.

    The loss is optimized with respect to W, while the convolution uses W_hat = WS(W) with
    W_hat_{i,j} = (W_{i,j} - mu_{W_i}) / (sigma_{W_i} + eps), mu and sigma the mean and standard deviation
    over the I = C_in * kh * kw weights of output channel i; y = W_hat * x. WS has no affine transform:
    the paper uses it in front of an activation normalization (GN or BN), "only replace convolutional
    layers that are followed by normalization layers" (authors' README). It targets micro-batch training
    (1-2 images per GPU) with Group Normalization.

    The trained parameter is ``weight`` (W), like ``nn.Conv2d``; ``standardized_weight()`` returns W_hat.

    Args:
        channels: the number of input and output channels C.
        kernel_size: odd size of the square kernel; padding ``kernel_size // 2`` keeps H x W.
        eps: added to the standard deviation of each filter (1e-5, the authors' code).
        unbiased: standardize with the 1/(I - 1) standard deviation of the authors' PyTorch layer instead of
            the paper's 1/I.
        bias: learn a bias; off by default since the paper writes the convolution with its bias set
            to 0 and a normalization layer follows.

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, H, W).

    Examples:
        >>> import torch
        >>> conv = WSConv2d(16)
        >>> conv(torch.randn(2, 16, 9, 7)).shape
        torch.Size([2, 16, 9, 7])
    """

    def __init__(self, channels: int, kernel_size: int = 3, eps: float = 1e-5, unbiased: bool = False,
                 bias: bool = False):
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer (same padding), got {kernel_size!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        if unbiased and kernel_size == 1 and channels == 1:
            raise ValueError("unbiased=True needs at least 2 weights per filter (C_in * k * k >= 2)")
        super().__init__(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.channels = channels
        self.eps = float(eps)
        self.unbiased = bool(unbiased)

    def standardized_weight(self) -> torch.Tensor:
        """W_hat = WS(W), (C, C, k, k): zero mean and (up to eps) unit standard deviation per output filter."""
        return standardize_weight(self.weight, self.eps, self.unbiased)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        return F.conv2d(x, self.standardized_weight(), self.bias, self.stride, self.padding)  # y = W_hat * x

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}, unbiased={self.unbiased}"
