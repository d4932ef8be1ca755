"""Spectral Normalization (Miyato, Kataoka, Koyama, Yoshida: "Spectral Normalization for Generative
Adversarial Networks", ICLR 2018, arXiv:1802.05957)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

# Power iterations run when the reparameterization is registered, so that the stored (u, v) already
# estimate the top singular pair before the first forward (torch's convention; see _SpectralNorm).
_INIT_POWER_ITERATIONS = 15


class _SpectralNorm(nn.Module):
    """The parametrization W_SN = W / sigma(W) (Sec. 2.1), sigma estimated by power iteration (Algorithm 1).

    The weight is viewed as a matrix W of shape (d_out, rest) (a convolution kernel (C_out, C_in, kh, kw)
    as (C_out, C_in * kh * kw), Sec. 2.1 and Appendix). The vectors u (d_out) and v (rest) are persistent
    buffers ``_u`` and ``_v``, the layout of ``torch.nn.utils.parametrizations.spectral_norm``, so buffers
    and state dicts copy across directly.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12,
                 order: str = "paper"):
        super().__init__()
        self.dim = dim
        self.order = order
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        if weight.dim() > 1:
            w_mat = self._matrix(weight)  # (d_out, rest)
            h, w = w_mat.shape
            # Algorithm 1: initialize u "with a random vector (sampled from isotropic distribution)".
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            # Deviation (torch's convention): a warm-up of 15 power iterations at registration, so that
            # eval-mode forwards before any training step use a sensible sigma.
            self._power_method(w_mat, _INIT_POWER_ITERATIONS)

    def _matrix(self, weight: torch.Tensor) -> torch.Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)  # (d_out, d_in * kh * kw)

    @torch.no_grad()
    def _power_method(self, w_mat: torch.Tensor, n_iterations: int) -> None:
        # Algorithm 1, power iteration: v <- W^T u / ||W^T u||, then u <- W v / ||W v|| (order "paper", as
        # the authors' max_singular_value). Order "torch" does u <- W v first, then v <- W^T u, as
        # torch.nn.utils.parametrizations.spectral_norm (the same iteration, shifted by half a step).
        # The loop is over iterations (1 per training forward by default), never over data; u and v are
        # updated in place and persist between steps.
        for _ in range(n_iterations):
            if self.order == "paper":
                self._v = F.normalize(torch.mv(w_mat.mH, self._u), dim=0, eps=self.eps, out=self._v)
                self._u = F.normalize(torch.mv(w_mat, self._v), dim=0, eps=self.eps, out=self._u)
            else:
                self._u = F.normalize(torch.mv(w_mat, self._v), dim=0, eps=self.eps, out=self._u)
                self._v = F.normalize(torch.mv(w_mat.mH, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.dim() == 1:  # a vector's spectral norm is its Euclidean norm
            return F.normalize(weight, dim=0, eps=self.eps)
        w_mat = self._matrix(weight)
        if self.training:  # Algorithm 1: one power iteration per update, reusing u from the previous step
            self._power_method(w_mat, self.n_power_iterations)
        # u and v are constants of the backward pass (their update ran under no_grad); clone them so that
        # the next in-place update does not invalidate this graph.
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        sigma = torch.vdot(u, torch.mv(w_mat, v))  # Algorithm 1: sigma(W) ~ u^T W v
        return weight / sigma  # Sec. 2.1: W_SN = W / sigma(W)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value  # assigning a weight stores it as the unnormalized W


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None, order: str = "paper") -> nn.Module:
    """Reparameterizes ``module.<name>`` as W / sigma(W), sigma by persistent power iteration, in place.

    Sec. 2.1: W_SN = W / sigma(W) has spectral norm 1, which bounds the Lipschitz constant of a
    linear layer by 1. Sec. 2.2 / Algorithm 1: sigma(W) is estimated as u^T W v with u, v refined by
    ``n_power_iterations`` power iterations at every training forward; u and v persist between steps, so
    one iteration per step suffices as W changes slowly. In eval mode u and v are frozen.

    Args:
        module: the module whose parameter is reparameterized (modified in place and returned).
        name: the name of the parameter.
        n_power_iterations: power iterations per training forward (1 in the paper, Sec. 2.2).
        eps: the epsilon of the vector normalizations (numerical safety).
        dim: the axis of output units; default 1 for ``ConvTranspose*d`` and 0 otherwise.
        order: ``"paper"`` updates v from u, then u from v (Algorithm 1 and the authors' code);
            ``"torch"`` updates u from v, then v from u, exactly as
            ``torch.nn.utils.parametrizations.spectral_norm`` (for bit-level parity with it).

    Returns:
        The same module; ``module.<name>`` is now computed from ``module.parametrizations.<name>.original``
        (W) and the buffers ``module.parametrizations.<name>._u`` and ``._v``.

    Examples:
        >>> import torch
        >>> lin = spectral_norm(torch.nn.Linear(20, 10))
        >>> bool(torch.linalg.matrix_norm(lin.weight, ord=2) < 1.1)
        True
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"module {type(module).__name__} has no tensor parameter named {name!r}")
    if not isinstance(n_power_iterations, int) or isinstance(n_power_iterations, bool) or n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be a positive integer, got {n_power_iterations!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if order not in ("paper", "torch"):
        raise ValueError(f"order must be 'paper' or 'torch', got {order!r}")
    if dim is None:
        transposed = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
        dim = 1 if isinstance(module, transposed) else 0
    if not isinstance(dim, int) or isinstance(dim, bool) or not -max(weight.dim(), 1) <= dim < max(weight.dim(), 1):
        raise ValueError(f"dim must be an axis of the {weight.dim()}-d weight, got {dim!r}")
    dim = dim % max(weight.dim(), 1)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps, order))
    return module


class SpectralNormConv2d(nn.Module):
    """A C -> C convolution whose kernel is divided by its spectral norm: W_SN = W / sigma(W) (Sec. 2.1).

    The kernel (C, C, k, k) is viewed as a C x (C k k) matrix; its largest singular value sigma(W) is
    estimated with one power iteration per training forward (Algorithm 1), with u and v kept as buffers
    between steps. This is :func:`spectral_norm` applied to ``nn.Conv2d(channels, channels, kernel_size,
    padding=kernel_size // 2)``. With ``order="torch"`` it matches ``torch.nn.utils.parametrizations.
    spectral_norm`` on the same convolution given the same buffers (same state-dict keys), in training and
    in eval mode; the default ``order="paper"`` runs Algorithm 1's update order.

    Args:
        channels: the number of input and output channels C.
        kernel_size: odd size of the square kernel; padding ``kernel_size // 2`` keeps H x W.
        n_power_iterations: power iterations per training forward (1 in the paper, Sec. 2.2).
        eps: the epsilon of the vector normalizations.
        bias: learn a per-channel bias (not normalized).
        order: the power-iteration update order, ``"paper"`` (Algorithm 1) or ``"torch"`` (see
            :func:`spectral_norm`).

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, H, W).

    Examples:
        >>> import torch
        >>> conv = SpectralNormConv2d(16)
        >>> conv(torch.randn(2, 16, 9, 7)).shape
        torch.Size([2, 16, 9, 7])
    """

    def __init__(self, channels: int, kernel_size: int = 3, n_power_iterations: int = 1, eps: float = 1e-12,
                 bias: bool = True, order: str = "paper"):
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer (same padding), got {kernel_size!r}")
        self.channels = channels
        self.kernel_size = kernel_size
        conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.conv = spectral_norm(conv, "weight", n_power_iterations=n_power_iterations, eps=eps,
                                  order=order)

    @property
    def weight(self) -> torch.Tensor:
        """The normalized kernel W_SN = W / sigma(W), (C, C, k, k). In training mode, reading it runs a
        power iteration, as a forward does."""
        return self.conv.weight

    @property
    def weight_orig(self) -> nn.Parameter:
        """The trained, unnormalized kernel W, (C, C, k, k)."""
        return self.conv.parametrizations.weight.original

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected an input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point input, got {x.dtype}")
        return self.conv(x)

    def extra_repr(self) -> str:
        p = self.conv.parametrizations.weight[0]
        return (f"{self.channels}, kernel_size={self.kernel_size}, n_power_iterations={p.n_power_iterations}, "
                f"eps={p.eps}, bias={self.conv.bias is not None}, order={p.order!r}")
