"""Batch Renormalization (Ioffe: "Batch Renormalization: Towards Reducing Minibatch Dependence in
Batch-Normalized Models", NeurIPS 2017, arXiv:1702.03275)."""

from typing import Optional

import torch
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class BatchRenorm(nn.Module):
    """Batch Norm whose training output is corrected towards the moving statistics used at inference.

    Training (Algorithm 1), per channel over the mini-batch B of the N * H * W values of that channel:

    - mu_B = mean(x), sigma_B = sqrt(eps + mean((x - mu_B)^2));
    - r = stop_gradient(clip(sigma_B / sigma, 1 / r_max, r_max));
    - d = stop_gradient(clip((mu_B - mu) / sigma, -d_max, d_max));
    - x_hat = (x - mu_B) / sigma_B * r + d, y = gamma * x_hat + beta;
    - mu <- mu + momentum * (mu_B - mu), sigma <- sigma + momentum * (sigma_B - sigma).

    Inference: y = gamma * (x - mu) / sigma + beta, with the moving mean ``running_mean`` (mu) and moving
    standard deviation ``running_std`` (sigma). Since (x - mu) / sigma = (x - mu_B) / sigma_B * r + d
    for r = sigma_B / sigma and d = (mu_B - mu) / sigma, the training output equals the inference output
    whenever r and d are not clipped; r and d are treated as constants by back-propagation, so the
    gradients still flow through mu_B and sigma_B as in Batch Norm. With r_max = 1 and d_max = 0 the
    layer is Batch Norm in training. The paper starts there and relaxes r_max and d_max gradually
    (Sec. 4); that schedule is the caller's: ``r_max`` and ``d_max`` are plain attributes to update.

    Args:
        channels: the number of channels C.
        eps: the constant added to the variance inside sigma_B (Algorithm 1).
        momentum: the update rate alpha of the moving averages (Algorithm 1); 0.1 as torch's BatchNorm.
        r_max: clip bound of r, >= 1 (``float('inf')``: no clipping). Default 3, the value the paper
            relaxes r_max to; 1 gives Batch Norm.
        d_max: clip bound of d, >= 0 (``float('inf')``: no clipping). Default 5, the value the paper
            relaxes d_max to; 0 gives Batch Norm.
        affine: learn gamma and beta (initialized to 1 and 0).

    Shape:
        - Input: (N, C, H, W), or more generally (N, C, *).
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> brn = BatchRenorm(8, r_max=3.0, d_max=5.0)
        >>> x = 2 * torch.randn(16, 8, 4, 4) + 1
        >>> y = brn(x)
        >>> y.shape
        torch.Size([16, 8, 4, 4])
        >>> brn.running_std.shape
        torch.Size([8])
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1, r_max: float = 3.0,
                 d_max: float = 5.0, affine: bool = True):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.channels = channels
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.r_max = r_max  # validated by the property setter
        self.d_max = d_max
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))  # gamma
            self.bias = nn.Parameter(torch.zeros(channels))  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(channels))  # mu of Algorithm 1
        self.register_buffer("running_std", torch.ones(channels))  # sigma of Algorithm 1 (a std, not a variance)
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    @property
    def r_max(self) -> float:
        return self._r_max

    @r_max.setter
    def r_max(self, value: float) -> None:
        if not value >= 1.0:
            raise ValueError(f"r_max must be >= 1 (r is clipped to [1/r_max, r_max]), got {value!r}")
        self._r_max = float(value)

    @property
    def d_max(self) -> float:
        return self._d_max

    @d_max.setter
    def d_max(self, value: float) -> None:
        if not value >= 0.0:
            raise ValueError(f"d_max must be >= 0 (d is clipped to [-d_max, d_max]), got {value!r}")
        self._d_max = float(value)

    def reset_running_stats(self) -> None:
        """Moving mean 0, moving standard deviation 1, no batch seen."""
        self.running_mean.zero_()
        self.running_std.fill_(1.0)
        self.num_batches_tracked.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, *), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        c = self.channels
        shape = (1, c) + (1,) * (x.dim() - 2)  # (1, C, 1, 1)
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        mu = self.running_mean.reshape(shape).to(xf.dtype)  # moving mean mu, (1, C, 1, 1)
        sigma = self.running_std.reshape(shape).to(xf.dtype)  # moving std sigma, (1, C, 1, 1)
        if self.training:
            if x.numel() // c < 2:
                raise ValueError(f"expected more than 1 value per channel to compute batch statistics "
                                 f"(Algorithm 1), got input shape {tuple(x.shape)}")
            axes = (0,) + tuple(range(2, x.dim()))  # over the batch and all spatial positions
            mean = xf.mean(dim=axes, keepdim=True)  # Algorithm 1: mu_B, (1, C, 1, 1)
            centered = xf - mean
            std = torch.sqrt((centered * centered).mean(dim=axes, keepdim=True) + self.eps)  # sigma_B
            with torch.no_grad():  # Algorithm 1: r and d are stop_gradient(...), constants for backprop
                r = (std / sigma).clamp(1.0 / self._r_max, self._r_max)
                d = ((mean - mu) / sigma).clamp(-self._d_max, self._d_max)
            y = centered / std * r + d  # Algorithm 1: x_hat = (x - mu_B) / sigma_B * r + d
            self._update_moving_averages(mean.reshape(c), std.reshape(c))  # after r, d use the old mu, sigma
        else:
            y = (xf - mu) / sigma  # Algorithm 1, inference: (x - mu) / sigma
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)  # y = gamma x_hat + beta
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_moving_averages(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Algorithm 1: mu := mu + alpha (mu_B - mu), sigma := sigma + alpha (sigma_B - sigma)."""
        self.num_batches_tracked.add_(1)
        self.running_mean.add_(self.momentum * (mean.to(self.running_mean.dtype) - self.running_mean))
        self.running_std.add_(self.momentum * (std.to(self.running_std.dtype) - self.running_std))

    def extra_repr(self) -> str:
        return (f"{self.channels}, eps={self.eps}, momentum={self.momentum}, r_max={self._r_max}, "
                f"d_max={self._d_max}, affine={self.affine}")


def load_batchnorm_state(module: BatchRenorm, state: dict, eps: Optional[float] = None) -> None:
    """Copies a ``torch.nn.BatchNorm*d`` state dict into ``module`` (sigma = sqrt(running_var + eps)).

    Convenience for fine-tuning a Batch-Norm model with Batch Renorm: torch stores a moving *variance*,
    Algorithm 1 a moving *standard deviation* with eps inside it.
    """
    eps = module.eps if eps is None else eps
    with torch.no_grad():
        if module.weight is not None and "weight" in state:
            module.weight.copy_(state["weight"])
            module.bias.copy_(state["bias"])
        module.running_mean.copy_(state["running_mean"])
        module.running_std.copy_(torch.sqrt(state["running_var"] + eps))
        if "num_batches_tracked" in state:
            module.num_batches_tracked.copy_(state["num_batches_tracked"])

