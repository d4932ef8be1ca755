"""Batch Normalization (Ioffe, Szegedy: "Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift", ICML 2015, arXiv:1502.03167)."""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def batch_norm_reference(x: torch.Tensor, running_mean: Optional[torch.Tensor], running_var: Optional[torch.Tensor],
                         weight: Optional[torch.Tensor], bias: Optional[torch.Tensor], training: bool,
                         momentum: float = 0.1, eps: float = 1e-5) -> torch.Tensor:
    """Batch normalization written out from Alg. 1 (training) and Alg. 2 (inference).

    Same signature and semantics as ``torch.nn.functional.batch_norm``, which :class:`BatchNorm` calls
    (torch's fused kernel); the tests check that the two agree (outputs, gradients and running statistics,
    float32 and float64). This function is the readable definition.

    Args:
        x: the input, (N, C, *).
        running_mean: E[x], (C,), or None. Updated in place when ``training``.
        running_var: Var[x], (C,), or None. Updated in place when ``training``.
        weight: gamma, (C,), or None.
        bias: beta, (C,), or None.
        training: normalize with the mini-batch statistics (Alg. 1) and update the running ones; else
            normalize with ``running_mean`` and ``running_var`` (Alg. 2, line 11).
        momentum: weight of this batch in the running averages, r <- (1 - momentum) r + momentum s_B.
        eps: added to the variance inside the square root (Alg. 1).

    Returns:
        The normalized tensor, same shape and dtype as ``x``.

    Shape:
        - x: (N, C, *). Output: same shape.

    Examples:
        >>> import torch
        >>> x = torch.randn(8, 4, 3, 3)
        >>> y = batch_norm_reference(x, None, None, None, None, training=True)
        >>> torch.allclose(y, torch.nn.functional.batch_norm(x, None, None, training=True), atol=1e-5)
        True
    """
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.dim() - 2)  # (1, C, 1, 1): statistics and gamma, beta per channel
    axes = (0,) + tuple(range(2, x.dim()))  # Sec. 3.2: over the batch and all spatial positions
    xf = x.float() if x.dtype in _LOW_PRECISION else x
    if training:
        m = x.numel() // c  # Sec. 3.2: the effective mini-batch size m' = N * H * W
        mean = xf.mean(dim=axes, keepdim=True)  # Alg. 1: mini-batch mean mu_B, (1, C, 1, 1)
        centered = xf - mean
        # Alg. 1: mini-batch variance sigma_B^2 = (1/m) sum (x_i - mu_B)^2, the biased one, from the
        # centered values (two passes: no E[x^2] - mu^2 cancellation).
        var = (centered * centered).mean(dim=axes, keepdim=True)  # (1, C, 1, 1)
        if running_mean is not None and running_var is not None:
            with torch.no_grad():  # Alg. 2, line 10, kept as running averages (see BatchNorm)
                unbiased = var.reshape(c) * (m / (m - 1))  # Sec. 3.1 / Alg. 2: m/(m-1) sigma_B^2
                running_mean.mul_(1 - momentum).add_(momentum * mean.reshape(c).to(running_mean.dtype))
                running_var.mul_(1 - momentum).add_(momentum * unbiased.to(running_var.dtype))
    else:
        mean = running_mean.reshape(shape).to(xf.dtype)  # Alg. 2, line 11: E[x]
        var = running_var.reshape(shape).to(xf.dtype)  # Alg. 2, line 11: Var[x]
        centered = xf - mean
    y = centered * torch.rsqrt(var + eps)  # Alg. 1: normalize, x_hat; Alg. 2, line 11 in eval
    if weight is not None:
        y = y * weight.reshape(shape)  # Alg. 1: scale
    if bias is not None:
        y = y + bias.reshape(shape)  # Alg. 1: shift
    return y.to(x.dtype)


class BatchNorm(nn.Module):
    """Normalizes each channel with the mean and variance of the mini-batch, then scales and shifts it.

    Training (Alg. 1, Sec. 3.2): for every channel, the mini-batch B is the set of all its values over
    the batch and the spatial positions, of size m' = N * H * W. The layer computes the mini-batch mean
    mu_B and the biased variance sigma_B^2 (1/m), normalizes x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps)
    and returns y = gamma * x_hat + beta, with one gamma and one beta per channel.

    Inference (Sec. 3.1, Alg. 2, lines 10-11): the population statistics E[x] = E_B[mu_B] and the
    unbiased Var[x] = m / (m - 1) * E_B[sigma_B^2] replace the mini-batch ones, so the output depends on
    the input alone and BN becomes one affine map per channel. As in torch, the averages over training
    mini-batches are kept while training in the buffers ``running_mean`` and ``running_var`` ("Using
    moving averages instead, we can track the accuracy of a model as it trains", Sec. 3.1):
    exponential moving averages with ``momentum``, or, with ``momentum=None``, the plain cumulative
    average over all batches seen, which is Alg. 2's E_B[.] exactly.

    The forward runs torch's fused kernel, ``torch.nn.functional.batch_norm``, on the module's own
    parameters and buffers; it computes exactly Alg. 1 and 2 as written out in
    :func:`batch_norm_reference` (tested equal: outputs, gradients, running statistics). Parameters and
    buffers have the names of ``torch.nn.BatchNorm2d`` (``weight``, ``bias``, ``running_mean``,
    ``running_var``, ``num_batches_tracked``), so state dicts load both ways.

    Args:
        channels: the number of channels C (one gamma, beta, mean and variance each).
        eps: the constant added to the variance inside the square root (Alg. 1).
        momentum: weight of the new batch in the running averages, r <- (1 - momentum) * r +
            momentum * batch statistic (torch's convention; the paper's "moving averages" give no
            value). ``None``: cumulative average over all batches, E_B[.] of Alg. 2.
        affine: learn gamma and beta (Alg. 1, "scale and shift"; initialized to 1 and 0).
        track_running_stats: keep the population statistics for inference (Alg. 2). If False, the
            layer always normalizes with the statistics of the current batch, in eval mode too.

    Shape:
        - Input: (N, C, H, W), or more generally (N, C, *) (any number of spatial axes, or none).
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> bn = BatchNorm(16)
        >>> y = bn(3 * torch.randn(8, 16, 5, 5) + 2)
        >>> y.shape
        torch.Size([8, 16, 5, 5])
        >>> bool(y.mean(dim=(0, 2, 3)).abs().max() < 1e-5)
        True
        >>> int(bn.num_batches_tracked)
        1
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True):
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
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))  # gamma, one per feature map (Sec. 3.2)
            self.bias = nn.Parameter(torch.zeros(channels))  # beta, one per feature map (Sec. 3.2)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(channels))  # E[x] of Alg. 2, line 10
            self.register_buffer("running_var", torch.ones(channels))  # Var[x] of Alg. 2, line 10
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forgets the population statistics: mean 0, variance 1, no batch seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, *), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats and x.numel() // self.channels < 2:
            raise ValueError(f"expected more than 1 value per channel to compute batch statistics "
                             f"(Alg. 1), got input shape {tuple(x.shape)}")
        factor = 0.0  # weight of this batch in the running averages (unused when they are not updated)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average over every batch seen so far: E_B[.] of Alg. 2
                factor = 1.0 / float(self.num_batches_tracked)
            else:  # Deviation (as torch): an exponential moving average instead of the plain average E_B[.].
                factor = self.momentum
        args = (x, self.running_mean, self.running_var, self.weight, self.bias, use_batch_stats, factor, self.eps)
        if self.eps > 0 and self._kernel_supports(x.dtype):
            # Alg. 1 / Alg. 2 (= batch_norm_reference) in torch's fused kernel; it updates the running
            # buffers in place with the unbiased variance m/(m-1) sigma_B^2 (Alg. 2, line 10).
            return F.batch_norm(*args)
        # What torch's kernel rejects: eps = 0 (the paper's exact Alg. 1) and dtype combinations such as a
        # float64 input in a float32 layer.
        return batch_norm_reference(*args)

    def _kernel_supports(self, dtype: torch.dtype) -> bool:
        """torch's kernel takes parameters of the input's dtype, or float32 ones for a float16/bfloat16 input."""
        p = self.weight if self.weight is not None else self.running_mean
        return p is None or p.dtype == dtype or (dtype in _LOW_PRECISION and p.dtype == torch.float32)

    def extra_repr(self) -> str:
        return (f"{self.channels}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
