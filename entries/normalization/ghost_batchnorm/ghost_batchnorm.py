"""Ghost Batch Normalization (Hoffer, Hubara, Soudry: "Train longer, generalize better: closing the
generalization gap in large batch training of neural networks", NeurIPS 2017, arXiv:1705.08741)."""

from typing import Optional

import torch
from torch import nn

# Statistics of low-precision inputs are accumulated in float32, as torch's own kernels do.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class GhostBatchNorm(nn.Module):
    """Batch Norm whose training statistics come from small "ghost" batches carved out of a large batch.

    Training (Algorithm 1): the batch of N samples is split into consecutive ghost batches of
    ``virtual_batch_size`` samples (the last one holds the remainder). Each ghost batch is normalized
    with its own per-channel mean and biased variance over its samples and all spatial positions, then
    scaled and shifted by the shared gamma and beta. All ghost batches are processed at once (one reshape,
    no loop), so the large batch keeps its throughput while normalization sees small-batch statistics.

    The running statistics are updated once per ghost batch, in order, exactly as if a Batch Norm layer
    had been run on each ghost batch in turn (what the authors' code does: it feeds the chunks of the
    large batch through the model one after the other). For G ghost batches and momentum m this is,
    in closed form, r <- (1 - m)^G r + sum_l m (1 - m)^(G - 1 - l) s_l, with s_l the mean and the unbiased
    variance of ghost batch l. Inference uses the running statistics, as Batch Norm does.

    With ``virtual_batch_size >= N`` there is one ghost batch and the layer is Batch Norm.

    Written without ``torch.nn.functional.batch_norm``; parameters and buffers have the names of
    ``torch.nn.BatchNorm2d`` (``weight``, ``bias``, ``running_mean``, ``running_var``,
    ``num_batches_tracked``), so state dicts load both ways.

    Args:
        channels: the number of channels C.
        virtual_batch_size: samples per ghost batch |B_S| (128 is the default of the authors' code).
        eps: the constant added to the variance.
        momentum: weight of each ghost batch in the running averages (torch's convention). ``None``:
            cumulative average over all ghost batches seen.
        affine: learn gamma and beta (initialized to 1 and 0).

    Shape:
        - Input: (N, C, H, W), or more generally (N, C, *).
        - Output: same shape and dtype as the input.

    Examples:
        >>> import torch
        >>> gbn = GhostBatchNorm(8, virtual_batch_size=4)
        >>> x = 3 * torch.randn(12, 8, 5, 5) + 1
        >>> y = gbn(x)
        >>> y.shape
        torch.Size([12, 8, 5, 5])
        >>> ghosts = y.reshape(3, 4, 8, 25)  # 3 ghost batches of 4 samples
        >>> bool(ghosts.mean(dim=(1, 3)).abs().max() < 1e-5)
        True
        >>> int(gbn.num_batches_tracked)  # one update per ghost batch
        3
    """

    def __init__(self, channels: int, virtual_batch_size: int = 128, eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = True):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if (not isinstance(virtual_batch_size, int) or isinstance(virtual_batch_size, bool)
                or virtual_batch_size < 1):
            raise ValueError(f"virtual_batch_size must be a positive integer, got {virtual_batch_size!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be non-negative, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.channels = channels
        self.virtual_batch_size = virtual_batch_size
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))  # gamma, shared by all ghost batches
            self.bias = nn.Parameter(torch.zeros(channels))  # beta, shared by all ghost batches
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no ghost batch seen."""
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, *), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        c = self.channels
        shape = (1, c) + (1,) * (x.dim() - 2)  # (1, C, 1, 1)
        xf = x.float() if x.dtype in _LOW_PRECISION else x
        if not self.training:  # inference: the running statistics, as Batch Norm
            y = (xf - self.running_mean.reshape(shape).to(xf.dtype)) * torch.rsqrt(
                self.running_var.reshape(shape).to(xf.dtype) + self.eps)
        else:
            y = self._ghost_normalize(xf)
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)  # shared scale and shift
        return y.to(x.dtype)

    def _ghost_normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Algorithm 1, training: normalize each ghost batch by its own statistics, all at once."""
        n, c = x.shape[0], self.channels
        spatial = x[0, 0].numel()  # H * W (1 for (N, C) inputs)
        vbs = min(self.virtual_batch_size, n)
        groups = -(-n // vbs)  # G = ceil(N / |B_S|) ghost batches
        last = n - (groups - 1) * vbs  # samples in the last ghost batch (= vbs when it divides N)
        if last * spatial < 2:
            raise ValueError(f"the last ghost batch has {last} sample(s) of {spatial} value(s) per channel: more "
                             f"than 1 value per channel is needed for its statistics (input {tuple(x.shape)}, "
                             f"virtual_batch_size={self.virtual_batch_size})")
        flat = x.reshape(n, c, spatial)
        pad = groups * vbs - n
        if pad:  # pad the last ghost batch with zeros to a full (G, |B_S|) grid; masked out of the statistics
            flat = torch.cat([flat, flat.new_zeros(pad, c, spatial)])
        ghosts = flat.reshape(groups, vbs, c, spatial)  # (G, |B_S|, C, H*W)
        counts = torch.full((groups, 1, 1, 1), float(vbs * spatial), dtype=x.dtype, device=x.device)
        if pad:
            counts[-1] = float(last * spatial)
            mask = (torch.arange(groups * vbs, device=x.device) < n).to(x.dtype).reshape(groups, vbs, 1, 1)
        mean = ghosts.sum(dim=(1, 3), keepdim=True) / counts  # Algorithm 1: mu_B^l per ghost batch, (G, 1, C, 1)
        centered = ghosts - mean
        sq = centered * centered
        if pad:
            sq = sq * mask  # padded rows do not count
        var = sq.sum(dim=(1, 3), keepdim=True) / counts  # biased variance of each ghost batch, (G, 1, C, 1)
        y = centered * torch.rsqrt(var + self.eps)  # normalize each ghost batch with its own statistics
        self._update_running_stats(mean.reshape(groups, c), var.reshape(groups, c), counts.reshape(groups, 1))
        return y.reshape(groups * vbs, c, spatial)[:n].reshape(x.shape)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, counts: torch.Tensor) -> None:
        """One Batch Norm update per ghost batch, in order, in closed form (no loop over ghost batches)."""
        groups = mean.shape[0]
        unbiased = var * counts / (counts - 1)  # per ghost batch, as torch's BatchNorm stores it
        dtype = self.running_mean.dtype
        seen = self.num_batches_tracked.to(dtype)
        self.num_batches_tracked.add_(groups)
        if self.momentum is None:  # cumulative average over every ghost batch seen so far
            total = seen + groups
            keep = seen / total
            weights = torch.full((groups, 1), 1.0, dtype=dtype, device=mean.device) / total
        else:  # G consecutive updates r <- (1 - m) r + m s_l  =>  (1 - m)^G r + sum_l m (1 - m)^(G-1-l) s_l
            m = self.momentum
            keep = (1.0 - m) ** groups
            powers = torch.arange(groups - 1, -1, -1, dtype=dtype, device=mean.device).reshape(groups, 1)
            weights = m * (1.0 - m) ** powers
        self.running_mean.mul_(keep).add_((weights * mean.to(dtype)).sum(0))
        self.running_var.mul_(keep).add_((weights * unbiased.to(dtype)).sum(0))

    def extra_repr(self) -> str:
        return (f"{self.channels}, virtual_batch_size={self.virtual_batch_size}, eps={self.eps}, "
                f"momentum={self.momentum}, affine={self.affine}")
