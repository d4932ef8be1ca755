"""Gated Channel Transformation (Yang, Zhu, Wu, Yang: "Gated Channel Transformation for Visual Recognition",
CVPR 2020, arXiv:1909.11519). Not the Gaussian Context Transformer, which shares the acronym."""

import torch
from torch import nn


class GCT(nn.Module):
    """Global context embedding, channel normalization, and a 1 + tanh gate, with 3 parameters per channel.

    Global context embedding: s_c = alpha_c * ||x_c||_2 (l2 norm over H x W, with epsilon). Channel
    normalization: s_hat_c = sqrt(C) s_c / ||s||_2, i.e. s_c over the root mean square of s across channels,
    which makes channels compete. Gating adaptation: y_c = x_c * (1 + tanh(gamma_c s_hat_c + beta_c)).
    alpha starts at 1 and gamma, beta at 0 (authors' code), so a fresh GCT is the identity.

    Args:
        channels: number of input channels C.
        epsilon: small constant under the square roots of the embedding and the normalization.
        mode: "l2" (the paper's default embedding) or "l1" (sum of absolute values, the authors' variant).
        after_relu: with mode "l1", skip the absolute value because the input is already non-negative.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Examples:
        >>> import torch
        >>> gct = GCT(64)
        >>> x = torch.randn(2, 64, 8, 8)
        >>> torch.equal(gct(x), x), sum(p.numel() for p in gct.parameters())
        (True, 192)
    """

    def __init__(self, channels: int, epsilon: float = 1e-5, mode: str = "l2", after_relu: bool = False):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        if mode not in ("l2", "l1"):
            raise ValueError(f"mode must be 'l2' or 'l1', got {mode!r}")
        if epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        self.channels = channels
        self.epsilon = float(epsilon)
        self.mode = mode
        self.after_relu = bool(after_relu)
        self.alpha = nn.Parameter(torch.ones(1, channels, 1, 1))  # embedding weight, initialised to 1
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))  # gating weight, initialised to 0
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))  # gating bias, initialised to 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        xf = x.float()  # the sum of squares over H x W overflows float16 on large maps: reduce in float32
        if self.mode == "l2":
            # global context embedding: s_c = alpha_c * sqrt(sum_{h,w} x_c^2 + eps): (N, C, 1, 1)
            s = (xf.pow(2).sum(dim=(2, 3), keepdim=True) + self.epsilon).sqrt() * self.alpha.float()
            # channel normalization: sqrt(C) s_c / ||s||_2 = s_c / sqrt(mean_c s_c^2 + eps)
            s_hat = s / (s.pow(2).mean(dim=1, keepdim=True) + self.epsilon).sqrt()
        else:
            a = xf if self.after_relu else xf.abs()
            s = a.sum(dim=(2, 3), keepdim=True) * self.alpha.float()  # l1 embedding: (N, C, 1, 1)
            s_hat = s / (s.abs().mean(dim=1, keepdim=True) + self.epsilon)  # l1 channel normalization
        gate = 1.0 + torch.tanh(self.gamma.float() * s_hat + self.beta.float())  # gating: (N, C, 1, 1), in (0, 2)
        return x * gate.to(x.dtype)  # (N, C, H, W)
