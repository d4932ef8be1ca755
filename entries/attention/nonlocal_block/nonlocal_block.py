"""Non-local block (Wang, Girshick, Gupta, He: "Non-local Neural Networks", CVPR 2018, arXiv:1711.07971).

The 2-D (space-only) instantiation of the block for image feature maps; the paper's video blocks are the
same operation over T x H x W positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("embedded_gaussian", "gaussian", "dot_product", "concatenation")


class NonLocalBlock(nn.Module):
    """Non-local block: every position attends to every position, z = BN(W_z y) + x.

    Sec. 3.1, Eq. 1 defines the non-local operation y_i = (1 / C(x)) sum_j f(x_i, x_j) g(x_j) over all
    positions j, with g(x_j) = W_g x_j a 1x1 convolution. Sec. 3.2 gives four choices of the pairwise
    function f and normaliser C(x):

    - ``gaussian`` (Eq. 2): f = exp(x_i^T x_j), C(x) = sum_j f, i.e. a softmax over j of the raw features;
    - ``embedded_gaussian`` (Eq. 3): f = exp(theta(x_i)^T phi(x_j)), C(x) = sum_j f, i.e.
      y = softmax(theta^T phi) g, self-attention without the 1/sqrt(d) scale (the paper's default);
    - ``dot_product`` (Eq. 4): f = theta(x_i)^T phi(x_j), C(x) = N, the number of positions;
    - ``concatenation`` (Eq. 5): f = ReLU(w_f^T [theta(x_i), phi(x_j)]), C(x) = N.

    Sec. 3.3, Eq. 6 wraps it as a residual block z_i = W_z y_i + x_i with a BatchNorm after W_z whose
    scale is initialised to zero, so a freshly inserted block is the identity. theta, phi and g halve the
    channels (Sec. 3.3, "Implementation of Non-local Blocks"); ``sub_sample`` adds the paper's
    subsampling trick, a 2x2 max pooling after phi and g, so the keys are the pooled positions x-hat.

    Args:
        channels: number of input channels C.
        mode: the pairwise function, one of ``embedded_gaussian`` (default), ``gaussian``,
            ``dot_product``, ``concatenation``.
        inter_channels: width C' of theta, phi and g; default C // 2 (at least 1), as in Sec. 3.3.
        sub_sample: max-pool the keys/values (phi and g, or x in ``gaussian`` mode) by 2 in H and W
            (Sec. 3.3): N x N/4 pairs instead of N x N. Needs H, W >= 2.
        scaled: divide the softmax logits by sqrt(C'), as the authors' released code does by default
            (``NONLOCAL.USE_SCALE``); the paper's Eqs. 2-3 have no scale, hence default ``False``.
            Only affects the two softmax modes.
        zero_init: initialise the BatchNorm scale after W_z to zero (Sec. 3.3), so the block starts as
            the identity map.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> nl = NonLocalBlock(64)
        >>> x = torch.randn(2, 64, 14, 14)
        >>> nl(x).shape
        torch.Size([2, 64, 14, 14])
        >>> torch.equal(nl.eval()(x), x)  # zero-initialised BN: the block starts as the identity
        True
    """

    def __init__(self, channels: int, mode: str = "embedded_gaussian", inter_channels: int | None = None,
                 sub_sample: bool = False, scaled: bool = False, zero_init: bool = True):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if inter_channels is None:
            inter_channels = max(channels // 2, 1)  # Sec. 3.3: "half of the number of channels in x"
        if not isinstance(inter_channels, int) or inter_channels < 1:
            raise ValueError(f"inter_channels must be a positive integer, got {inter_channels!r}")
        self.channels, self.inter_channels = channels, inter_channels
        self.mode, self.sub_sample, self.scaled = mode, sub_sample, scaled

        # Deviation: the 1x1 convolutions carry biases, as in the authors' code (nonlocal_helper.py,
        # NONLOCAL.NO_BIAS = 0); the paper writes them as plain linear maps W_theta x_i.
        self.g = nn.Conv2d(channels, inter_channels, 1)  # W_g, Eq. 1
        if mode != "gaussian":  # Eq. 2 compares raw features: no theta, phi
            self.theta = nn.Conv2d(channels, inter_channels, 1)  # W_theta, Eq. 3
            self.phi = nn.Conv2d(channels, inter_channels, 1)  # W_phi, Eq. 3
        if mode == "concatenation":
            self.w_f = nn.Parameter(torch.empty(2 * inter_channels))  # Eq. 5: [theta; phi] -> scalar
        self.W_z = nn.Conv2d(inter_channels, channels, 1)  # Eq. 6: back to C channels
        self.bn = nn.BatchNorm2d(channels)  # Sec. 3.3: BN after W_z
        self.reset_parameters(zero_init)

    def reset_parameters(self, zero_init: bool = True) -> None:
        """Authors' code: Gaussian(0, 0.01) conv weights, zero biases; BN scale 0 (Sec. 3.3) or 1."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)  # NONLOCAL.CONV_INIT_STD = 0.01
                nn.init.zeros_(m.bias)
        if self.mode == "concatenation":
            nn.init.normal_(self.w_f, std=0.01)
        nn.init.constant_(self.bn.weight, 0.0 if zero_init else 1.0)  # "initialized as zero"
        nn.init.zeros_(self.bn.bias)

    @staticmethod
    def _tokens(t: torch.Tensor) -> torch.Tensor:
        return t.flatten(2).transpose(1, 2)  # (N, C, H, W) -> (N, HW, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input (N, {self.channels}, H, W), got {tuple(x.shape)}")
        n, _, h, w = x.shape
        if self.sub_sample and (h < 2 or w < 2):
            raise ValueError(f"sub_sample needs H, W >= 2, got {h} x {w}")
        # Sec. 3.3, subsampling trick: x-hat = maxpool(x) feeds phi and g.
        src = F.max_pool2d(x, 2) if self.sub_sample else x  # (N, C, H', W')
        g = self._tokens(self.g(src))  # (N, M, C'), M = H'W'
        if self.mode in ("embedded_gaussian", "gaussian"):
            if self.mode == "embedded_gaussian":
                q, k = self._tokens(self.theta(x)), self._tokens(self.phi(src))  # (N, HW, C'), (N, M, C')
            else:
                q, k = self._tokens(x), self._tokens(src)  # Eq. 2: raw features, (N, HW, C), (N, M, C)
            scale = q.shape[-1] ** -0.5 if self.scaled else 1.0
            # Eqs. 2-3 with C(x) = sum_j f: y = softmax(q k^T) g, exactly SDPA with scale 1.
            y = F.scaled_dot_product_attention(q, k, g, scale=scale)  # (N, HW, C')
        else:
            theta, phi = self._tokens(self.theta(x)), self._tokens(self.phi(src))  # (N, HW, C'), (N, M, C')
            if self.mode == "dot_product":
                f = theta @ phi.transpose(1, 2)  # Eq. 4: (N, HW, M)
            else:
                w_theta, w_phi = self.w_f[: self.inter_channels], self.w_f[self.inter_channels:]
                # Eq. 5: w_f^T [theta_i; phi_j] = w_theta^T theta_i + w_phi^T phi_j, broadcast to (N, HW, M)
                f = torch.relu((theta @ w_theta)[:, :, None] + (phi @ w_phi)[:, None, :])
            y = (f / f.shape[-1]) @ g  # Eqs. 4-5: C(x) = N, the number of positions j: (N, HW, C')
        y = y.transpose(1, 2).reshape(n, self.inter_channels, h, w)  # (N, C', H, W)
        return self.bn(self.W_z(y)) + x  # Eq. 6: z = W_z y + x, with BN after W_z (Sec. 3.3)

