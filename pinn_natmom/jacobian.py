"""The per-point Jacobian ``∂r_n/∂θ`` by a hand-written reverse pass through the forward Laplacian.

The forward pass (``pinn_natmom.diffops.forward_jet``, no autograd) records, for every linear layer ℓ, its input
channels ``A_ℓ`` (value ``a``, gradients ``∂_j a``, Laplacian ``Δ_S a``) and output channels ``Z_ℓ``. Since ``r_n``
depends on point ``n`` alone, adjoints ``Z̄ = ∂r_n/∂Z[n]`` are carried point by point from the output down:

- output: ``Z̄_L`` = the derivatives of ``r_n = √w ρ(x_n, u, ∇u, Δ_S u)`` with respect to ``u``, ``∇u`` and ``Δ_S u``;
- linear layer ``Z = A Wᵀ + b``: ``Ā_c = Z̄_c W`` for every channel ``c``, and the Jacobian rows

  .. math:: ∂r_n/∂W_ℓ = \\sum_c Z̄_{ℓ,c}[n]^T A_{ℓ,c}[n], \\qquad ∂r_n/∂b_ℓ = Z̄_{ℓ,\\mathrm{value}}[n] ;

- activation ``a = σ(z)``, ``∂_j a = σ'(z) ∂_j z``, ``Δ_S a = σ'(z) Δ_S z + σ''(z) Q`` with ``Q = Σ_{j∈S} (∂_j z)²``:

  .. math::
      \\bar z = σ' \\bar a + σ'' \\sum_j ∂_j z\\, \\overline{∂_j a} + (σ'' Δ_S z + σ''' Q)\\, \\overline{Δ_S a}, \\quad
      \\overline{∂_j z} = σ' \\overline{∂_j a} + 2 [j∈S]\\, σ'' ∂_j z\\, \\overline{Δ_S a}, \\quad
      \\overline{Δ_S z} = σ' \\overline{Δ_S a} ,

  with ``σ' = 1 − a²``, ``σ'' = −2aσ'``, ``σ''' = −2(σ'² + aσ'')`` for ``tanh``; ``σ' = cos z``, ``σ'' = −a``,
  ``σ''' = −σ'`` for ``sin``.

The first layer's input is ``x`` itself (``∂_j x = e_j``, ``Δx = 0``), so its rows are
``∂r_n/∂W_{1,oi} = \\bar z_{v}[n, o]\\, x_{n,i} + \\overline{∂_i z}[n, o]``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .diffops import Channels, dims_mask, forward_jet, squared_gradient, tanh_derivatives
from .network import MLP
from .problem import Collocation, Jet, Term


def residual_and_jacobian(mlp: MLP, term: Term, theta: Tensor, pts: Collocation, scale: float,
                          out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``r = scale · ρ`` (``N``) of ``term`` at ``pts`` and its Jacobian (``N × P``, written into ``out`` when given)."""
    x = pts.x
    trace: list[tuple[Channels, Channels]] = []
    with torch.no_grad():
        jet = forward_jet(mlp, theta, x, term.needs, term.laplacian_dims, trace=trace)
    r, adjoint = output_adjoint(term, x, jet, pts.data, scale)
    jacobian = theta.new_empty(len(x), mlp.num_params) if out is None else out
    mask = dims_mask(x.shape[-1], term.laplacian_dims, x)
    layers = mlp.unflatten(theta)
    rows = mlp.unflatten(jacobian)
    with torch.no_grad():
        for index in range(len(layers) - 1, -1, -1):
            a, _ = trace[index]
            w, _ = layers[index]
            weight_rows, bias_rows = rows[index]
            bias_rows.copy_(adjoint.value)
            if index == 0:
                _input_layer_rows(adjoint, x, weight_rows)
            else:
                _layer_rows(adjoint, a, weight_rows)
                adjoint = _through_activation(_through_linear(adjoint, w), trace[index - 1][1], a, mask, mlp.activation)
    return r, jacobian


def output_adjoint(term: Term, x: Tensor, jet: Jet, data: Tensor | None, scale: float) -> tuple[Tensor, Channels]:
    """``r = scale · ρ(x, jet, data)`` and ``∂r_n/∂(u, ∇u, Δ_S u)`` at every point, as width-1 channels of the output."""
    parts = [p for p in (jet.value, jet.grad, jet.laplacian) if p is not None]
    with torch.enable_grad():
        leaves = [p.detach().requires_grad_(True) for p in parts]
        it = iter(leaves)
        leaf_jet = Jet(*(None if p is None else next(it) for p in (jet.value, jet.grad, jet.laplacian)))
        r = scale * term.residual(x, leaf_jet, data)
        grads = torch.autograd.grad(r.sum(), leaves, allow_unused=True, materialize_grads=True)
    it = iter(grads)
    value = next(it)
    grad = next(it) if jet.grad is not None else None
    laplacian = next(it) if jet.laplacian is not None else None
    return r.detach(), Channels(
        value.unsqueeze(-1),
        None if grad is None else grad.transpose(0, 1).unsqueeze(-1),
        None if laplacian is None else laplacian.unsqueeze(-1),
    )


def _input_layer_rows(adjoint: Channels, x: Tensor, rows: Tensor) -> None:
    """``rows[n, o, i] = z̄_v[n, o] x[n, i] + ∂̄_i z[n, o]`` (the input's gradient channels are ``e_i``)."""
    if adjoint.grad is None:
        torch.mul(adjoint.value.unsqueeze(-1), x.unsqueeze(-2), out=rows)
        return
    for i in range(x.shape[-1]):
        torch.addcmul(adjoint.grad[i], adjoint.value, x[:, i : i + 1], out=rows[:, :, i])


def _layer_rows(adjoint: Channels, a: Channels, rows: Tensor) -> None:
    """``rows[n] = Σ_c Z̄_c[n]ᵀ A_c[n]`` over the channels present, as a sum of broadcast outer products (a batched
    product of ``o × C`` by ``C × i`` matrices runs one small product per point)."""
    pairs = [(adjoint.value, a.value)]
    if a.grad is not None:
        pairs += list(zip(adjoint.grad.unbind(0), a.grad.unbind(0), strict=True))
    if a.laplacian is not None:
        pairs.append((adjoint.laplacian, a.laplacian))
    (g, inputs), *rest = pairs
    torch.mul(g.unsqueeze(-1), inputs.unsqueeze(-2), out=rows)
    for g, inputs in rest:
        rows.addcmul_(g.unsqueeze(-1), inputs.unsqueeze(-2))


def _through_linear(adjoint: Channels, w: Tensor) -> Channels:
    """``Ā_c = Z̄_c W`` for every channel of ``Z = A Wᵀ + b``."""
    return Channels(
        adjoint.value @ w,
        None if adjoint.grad is None else adjoint.grad @ w,
        None if adjoint.laplacian is None else adjoint.laplacian @ w,
    )


def _through_activation(upstream: Channels, z: Channels, a: Channels, mask: Tensor | None, activation: str) -> Channels:
    """The adjoints of the channels of ``z`` from those of ``a = σ(z)`` (the rules in the module docstring)."""
    y = a.value
    if activation == "tanh":
        slope, curvature = tanh_derivatives(y)
        third = -2.0 * (slope * slope + y * curvature)
    else:
        slope, curvature = torch.cos(z.value), -y
        third = -slope
    value = slope * upstream.value
    grad = None
    if z.grad is not None:
        grad = slope * upstream.grad if upstream.grad is not None else None
        if upstream.laplacian is not None:
            weighted = 2.0 * curvature * upstream.laplacian
            extra = weighted * z.grad if mask is None else weighted * z.grad * mask
            grad = extra if grad is None else grad + extra
        if upstream.grad is not None:
            value = value + curvature * (z.grad * upstream.grad).sum(dim=0)
    if upstream.laplacian is not None:
        squares = squared_gradient(z.grad, mask)
        second = third * squares if z.laplacian is None else curvature * z.laplacian + third * squares
        value = value + second * upstream.laplacian
    laplacian = None if z.laplacian is None or upstream.laplacian is None else slope * upstream.laplacian
    return Channels(value, grad, laplacian)
