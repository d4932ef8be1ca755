"""Switchable Normalization (Luo, Ren, Peng, Zhang, Li: "Differentiable Learning-to-Normalize via Switchable
Normalization", ICLR 2019, arXiv:1806.10779)."""

from typing import Optional

import torch
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class SwitchableNorm(nn.Module):
    """Normalizes with a learned, softmax-weighted mixture of Instance, Layer and Batch Norm statistics.

    For an (N, C, H, W) input, Instance Norm (IN) takes a mean and variance per sample and channel over
    (H, W), Layer Norm (LN) per sample over (C, H, W) and Batch Norm (BN) per channel over (N, H, W)
    (Eq. 2). Switchable Normalization mixes them (Eq. 3):

        h_hat = gamma * (h - sum_k w_k mu_k) / sqrt(sum_k w'_k sigma_k^2 + eps) + beta,  k in {in, ln, bn},

    with importance weights w = softmax(lambda) for the means and w' = softmax(lambda') for the
    variances, each from three learned control parameters (``mean_weight``, ``var_weight``, initialized
    equal, so each normalizer starts at 1/3). The LN and BN statistics are computed from the IN ones instead
    of from the input again (Sec. 3.1): mu_ln = mean_c mu_in, sigma_ln^2 = mean_c (sigma_in^2 + mu_in^2) -
    mu_ln^2, and likewise over the batch for BN.

    At inference the BN statistics are replaced by running averages (``running_mean``, ``running_var``)
    kept while training; IN and LN are computed from the input as in training.

    Args:
        channels: the number of channels C.
        eps: the constant added to the mixed variance.
        momentum: weight of the new batch in the running BN statistics (torch's convention). ``None``:
            cumulative average over all batches seen, the paper's "batch average" when run over training
            batches with frozen parameters (Sec. 3.1).
        using_bn: include BN in the mixture (3 importance weights each); False mixes IN and LN only
            (2 each), as the authors' code offers for batches of one sample per GPU.

    Shape:
        - Input: (N, C, H, W), or more generally (N, C, *) with at least one spatial axis.
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> sn = SwitchableNorm(16)
        >>> y = sn(3 * torch.randn(4, 16, 8, 8) + 2)
        >>> y.shape
        torch.Size([4, 16, 8, 8])
        >>> sum(p.numel() for p in sn.parameters())  # gamma, beta (2 x 16) + 2 x 3 control parameters
        38
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, using_bn: bool = True):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.channels = channels
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.using_bn = using_bn
        k = 3 if using_bn else 2
        self.weight = nn.Parameter(torch.ones(channels))  # gamma of Eq. 3, per channel
        self.bias = nn.Parameter(torch.zeros(channels))  # beta of Eq. 3, per channel
        self.mean_weight = nn.Parameter(torch.ones(k))  # lambda_in, lambda_ln (, lambda_bn): w = softmax
        self.var_weight = nn.Parameter(torch.ones(k))  # lambda'_in, lambda'_ln (, lambda'_bn): w' = softmax
        if using_bn:
            self.register_buffer("running_mean", torch.zeros(channels))  # BN mean for inference
            self.register_buffer("running_var", torch.ones(channels))  # BN variance for inference
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forgets the BN population statistics: mean 0, variance 1, no batch seen."""
        if self.using_bn:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W) (or (N, {self.channels}, *) "
                             f"with a spatial axis), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        n, c = x.shape[0], self.channels
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        h = xf.reshape(n, c, -1)  # (N, C, H*W)
        mean_in = h.mean(dim=2, keepdim=True)  # Eq. 2, IN: mu per sample and channel, (N, C, 1)
        centered = h - mean_in
        var_in = (centered * centered).mean(dim=2, keepdim=True)  # IN: biased variance, (N, C, 1)
        second = var_in + mean_in * mean_in  # E[h^2] per sample and channel, reused below (Sec. 3.1)
        mean_ln = mean_in.mean(dim=1, keepdim=True)  # Sec. 3.1: mu_ln = mean over C of mu_in, (N, 1, 1)
        var_ln = (second.mean(dim=1, keepdim=True) - mean_ln * mean_ln).clamp_min(0)  # sigma_ln^2, (N, 1, 1)
        w = torch.softmax(self.mean_weight, dim=0).to(xf.dtype)  # importance weights of the means (Eq. 3)
        v = torch.softmax(self.var_weight, dim=0).to(xf.dtype)  # importance weights of the variances (Eq. 3)
        mean = w[0] * mean_in + w[1] * mean_ln
        var = v[0] * var_in + v[1] * var_ln
        if self.using_bn:
            if self.training:
                mean_bn = mean_in.mean(dim=0, keepdim=True)  # Sec. 3.1: mu_bn = mean over N of mu_in, (1, C, 1)
                var_bn = (second.mean(dim=0, keepdim=True) - mean_bn * mean_bn).clamp_min(0)  # sigma_bn^2
                self._update_running_stats(mean_bn.reshape(c), var_bn.reshape(c))
            else:  # inference: BN's population statistics
                mean_bn = self.running_mean.reshape(1, c, 1).to(xf.dtype)
                var_bn = self.running_var.reshape(1, c, 1).to(xf.dtype)
            mean = mean + w[2] * mean_bn
            var = var + v[2] * var_bn
        # Eq. 3: one mixed mean and variance per sample and channel, (N, C, 1)
        y = (h - mean) * torch.rsqrt(var + self.eps)
        y = y * self.weight.reshape(1, c, 1) + self.bias.reshape(1, c, 1)  # gamma, beta
        return y.reshape(x.shape).to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        """Running averages of the BN statistics for inference (moving, or the cumulative batch average)."""
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            factor = 1.0 / self.num_batches_tracked.to(mean.dtype)
        else:
            factor = self.momentum
        self.running_mean.mul_(1 - factor).add_(factor * mean.to(self.running_mean.dtype))
        self.running_var.mul_(1 - factor).add_(factor * var.to(self.running_var.dtype))

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, momentum={self.momentum}, using_bn={self.using_bn}"
