"""Weight Normalization (Salimans, Kingma: "Weight Normalization: A Simple Reparameterization to Accelerate
Training of Deep Neural Networks", NeurIPS 2016, arXiv:1602.07868)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize


def _norm_except_dim(v: torch.Tensor, dim: int | None) -> torch.Tensor:
    """||v|| of each slice along ``dim`` (the Euclidean norm of one output unit's weight vector).

    ``dim=None`` takes the norm of the whole tensor (one g for the whole weight).
    """
    if dim is None:
        return torch.linalg.vector_norm(v)  # () : a single scalar g
    others = [d for d in range(v.dim()) if d != dim]
    return torch.linalg.vector_norm(v, dim=others, keepdim=True)  # (C_out, 1, 1, 1) for dim=0 of a conv


def weight_norm_reference(g: torch.Tensor, v: torch.Tensor, dim: int | None = 0) -> torch.Tensor:
    """w = g * v / ||v|| (Sec. 2, Eq. 2), written out: one norm per slice of ``v`` along ``dim``.

    The parametrization computes the same with torch's fused kernel ``torch._weight_norm`` (one pass for
    the norms and the product, and a fused backward); the tests check that the two agree (values and
    gradients with respect to g and v, float32 and float64). This function is the readable definition.

    Args:
        g: the lengths, shaped like ``v`` with every axis but ``dim`` of size 1 (a scalar for ``dim=None``).
        v: the directions, shaped like the weight w.
        dim: the axis of output units, or None for one g for the whole tensor.

    Returns:
        w, shaped like ``v``.

    Examples:
        >>> import torch
        >>> v, g = torch.randn(4, 3), torch.rand(4, 1)
        >>> torch.allclose(weight_norm_reference(g, v).norm(dim=1, keepdim=True), g)
        True
    """
    return g * (v / _norm_except_dim(v, dim))  # Eq. 2: w = g / ||v|| * v


class _WeightNorm(nn.Module):
    """The parametrization w = g * v / ||v|| (Sec. 2, Eq. 2), with g and v the trained parameters.

    Registered as ``parametrizations.<name>.original0`` (g) and ``.original1`` (v), the layout of
    ``torch.nn.utils.parametrizations.weight_norm``, so state dicts load across directly. The forward
    runs torch's fused ``torch._weight_norm``, equal to :func:`weight_norm_reference` (tested).
    """

    def __init__(self, dim: int | None):
        super().__init__()
        self.dim = dim

    def forward(self, weight_g: torch.Tensor, weight_v: torch.Tensor) -> torch.Tensor:
        # Eq. 2, w = g / ||v|| * v (= weight_norm_reference), in torch's fused kernel, as torch's own
        # parametrization does; its dim -1 means "the whole tensor" (our dim=None).
        return torch._weight_norm(weight_v, weight_g, -1 if self.dim is None else self.dim)

    def right_inverse(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Assigning a weight w gives v = w and g = ||w||, so the reparameterized layer computes the same
        # function as before (torch's convention; the paper's own initialization is data-dependent, Sec. 3).
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: nn.Module, name: str = "weight", dim: int | None = 0) -> nn.Module:
    """Reparameterizes ``module.<name>`` as w = g * v / ||v|| (Sec. 2, Eq. 2), in place.

    Each weight vector of an output unit (the slice ``w[i]`` along ``dim``) gets its own scalar length g_i
    and direction v_i; gradient descent then runs on (g, v) instead of w. Works on any module with that
    parameter (``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.ConvTranspose2d`` with ``dim=1``, ...).

    Args:
        module: the module whose parameter is reparameterized (modified in place and returned).
        name: the name of the parameter.
        dim: the axis of output units (0 for Linear and Conv weights, 1 for ConvTranspose); one g per
            index along it. ``None`` normalizes the whole tensor with a single g.

    Returns:
        The same module; ``module.<name>`` is now computed from ``module.parametrizations.<name>.original0``
        (g, shaped like w with every axis but ``dim`` of size 1) and ``.original1`` (v, shaped like w).

    Examples:
        >>> import torch
        >>> lin = weight_norm(torch.nn.Linear(8, 4))
        >>> g = lin.parametrizations.weight.original0
        >>> tuple(g.shape), torch.allclose(lin.weight.norm(dim=1), g.flatten())
        ((4, 1), True)
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"module {type(module).__name__} has no tensor parameter named {name!r}")
    if dim is not None:
        if not isinstance(dim, int) or isinstance(dim, bool) or not -weight.dim() <= dim < weight.dim():
            raise ValueError(f"dim must be None or an axis of the {weight.dim()}-d weight, got {dim!r}")
        dim = dim % weight.dim()
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)  # unsafe: 1 -> 2 tensors
    return module


class WeightNormConv2d(nn.Module):
    """A C -> C convolution whose filters are weight-normalized: w_i = g_i * v_i / ||v_i|| (Eq. 2).

    Sec. 2: "we propose to reparameterize each weight vector w in terms of a parameter vector v and a scalar
    parameter g", which fixes the Euclidean norm of each output channel's filter to ||w_i|| = g_i whatever
    v is, decoupling the length of the weight vectors from their direction. Training then runs on g and v
    (Eq. 3 gives their gradients). The reparameterization is :func:`weight_norm` applied to an
    ``nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)``; it matches
    ``torch.nn.utils.parametrizations.weight_norm`` on the same convolution (same state-dict keys).

    At construction g = ||v|| (the layer computes the same function as the plain convolution it wraps);
    :meth:`data_dependent_init` applies the paper's initialization (Sec. 3) from a batch of inputs.

    Args:
        channels: the number of input and output channels C.
        kernel_size: odd size of the square kernel; padding ``kernel_size // 2`` keeps H x W.
        bias: learn a per-channel bias b (y = w * x + b, Eq. 1).

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, H, W).

    Examples:
        >>> import torch
        >>> conv = WeightNormConv2d(16)
        >>> conv(torch.randn(2, 16, 9, 7)).shape
        torch.Size([2, 16, 9, 7])
        >>> torch.allclose(conv.weight.flatten(1).norm(dim=1), conv.g.flatten())  # ||w_i|| = g_i
        True
    """

    def __init__(self, channels: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer (same padding), got {kernel_size!r}")
        self.channels = channels
        self.kernel_size = kernel_size
        conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.conv = weight_norm(conv, "weight", dim=0)  # one g per output channel

    @property
    def g(self) -> nn.Parameter:
        """The lengths g, shape (C, 1, 1, 1)."""
        return self.conv.parametrizations.weight.original0

    @property
    def v(self) -> nn.Parameter:
        """The directions v, shape (C, C, k, k)."""
        return self.conv.parametrizations.weight.original1

    @property
    def weight(self) -> torch.Tensor:
        """The effective weight w = g * v / ||v|| (Eq. 2), shape (C, C, k, k)."""
        return self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        return self.conv(x)

    @torch.no_grad()
    def data_dependent_init(self, x: torch.Tensor) -> "WeightNormConv2d":
        """The paper's data-dependent initialization of g and b from one minibatch (Sec. 3).

        With t = (v / ||v||) * x the pre-activation of unit norm filters, and mu[t], sigma[t] its mean and
        standard deviation over the minibatch (here: over N, H and W of each channel), set
        g <- 1 / sigma[t] and b <- -mu[t] / sigma[t], so that the layer's output on this batch has zero
        mean and unit variance per channel. Requires ``bias=True``.

        Args:
            x: a minibatch of inputs, (N, C, H, W).

        Returns:
            The module itself (g and b overwritten in place).
        """
        if self.conv.bias is None:
            raise ValueError("data_dependent_init sets the bias b (Sec. 3): build the layer with bias=True")
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        v = self.v
        t = F.conv2d(x.to(v.dtype), v / _norm_except_dim(v, 0), None, padding=self.kernel_size // 2)  # (N, C, H, W)
        # sigma[t] with the 1/m estimator (the result then has exactly unit variance on this batch).
        var, mu = torch.var_mean(t, dim=(0, 2, 3), correction=0)  # (C,)
        sigma = var.sqrt()
        self.g.copy_((1.0 / sigma).reshape_as(self.g))  # Sec. 3: g <- 1 / sigma[t]
        self.conv.bias.copy_(-mu / sigma)  # Sec. 3: b <- -mu[t] / sigma[t]
        return self

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}, bias={self.conv.bias is not None}"
