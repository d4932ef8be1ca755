"""LayerScale (Touvron, Cord, Sablayrolles, Synnaeve, Jegou: "Going deeper with Image Transformers",
ICCV 2021, arXiv:2103.17239)."""

from __future__ import annotations

import torch
from torch import nn


def init_value_for_depth(depth: int) -> float:
    """The initial value epsilon of the LayerScale diagonal for a transformer of ``depth`` blocks.

    The paper: "we set it to epsilon = 0.1 until depth 18, epsilon = 1e-5 for depth 24 and epsilon = 1e-6
    for deeper networks" (CaiT code: init_scale 1e-5 for the 24-block models, 1e-6 for 36 and 48).

    Args:
        depth: the number of (self-attention + FFN) blocks, >= 1.

    Returns:
        0.1 for depth <= 18, 1e-5 for 18 < depth <= 24, 1e-6 beyond. Depths 19-23 are not stated in the
        paper; they get the depth-24 value (the safer, smaller one).

    Examples:
        >>> [init_value_for_depth(d) for d in (12, 24, 36)]
        [0.1, 1e-05, 1e-06]
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if depth <= 18:
        return 0.1
    if depth <= 24:  # depths 19-23 are not in the paper: the depth-24 value
        return 1e-5
    return 1e-6


class LayerScale(nn.Module):
    """Multiplies each channel of a residual branch's output by a learned scalar: diag(lambda_1..lambda_D) x.

    Placed on the output of each residual branch of a transformer block (Eq. 4-5):

        x'_l    = x_l  + diag(lambda_l,1, ..., lambda_l,d)  x SA(eta(x_l))
        x_{l+1} = x'_l + diag(lambda'_l,1, ..., lambda'_l,d) x FFN(eta(x'_l))

    with eta the LayerNorm. The diagonal is initialized to a small epsilon (see
    :func:`init_value_for_depth`), so that each residual branch starts with a small contribution and the
    deep network starts close to the identity; unlike a single scalar per branch (ReZero, SkipInit,
    Fixup), one lambda per channel gives the optimizer per-channel freedom.

    Args:
        dim: the number of channels D.
        init_values: the initial value epsilon of every lambda (1e-5 by default, the paper's value for
            24-block networks; use :func:`init_value_for_depth`).

    Shape:
        - Input: (N, L, D), or (*, D) with any leading dimensions.
        - Output: same shape as the input.

    Examples:
        >>> import torch
        >>> ls = LayerScale(8, init_values=0.1)
        >>> ls(torch.ones(2, 3, 8))[0, 0]
        tensor([0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000, 0.1000], grad_fn=<SelectBackward0>)
    """

    def __init__(self, dim: int, init_values: float = 1e-5):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not isinstance(init_values, (int, float)) or isinstance(init_values, bool):
            raise ValueError(f"init_values must be a number, got {init_values!r}")
        self.dim = dim
        self.init_values = float(init_values)
        self.gamma = nn.Parameter(self.init_values * torch.ones(dim))  # the diagonal (lambda_1, ..., lambda_D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"expected an input of shape (N, L, {self.dim}) (or (*, {self.dim})), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        return x * self.gamma.to(x.dtype)  # diag(lambda) x: per-channel scaling, broadcast over (N, L)

    def extra_repr(self) -> str:
        return f"{self.dim}, init_values={self.init_values:g}"
