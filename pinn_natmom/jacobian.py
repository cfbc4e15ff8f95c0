"""The per-point Jacobian ``∂r_n/∂θ`` by a hand-written reverse pass through the forward Laplacian and Hessian.

The forward pass (``pinn_natmom.diffops.forward_channels``, no autograd) records, for every linear layer ℓ, its input
channels ``A_ℓ`` (value ``a``, gradients ``∂_j a``, and the Laplacian ``Δ_S a`` or the Hessian pairs ``∂_i∂_j a``,
``p = (i, j)``, ``i ≤ j``) and output channels ``Z_ℓ``. Since ``r_n`` depends on point ``n`` alone, adjoints
``Z̄ = ∂r_n/∂Z[n]`` are carried point by point from the output down:

- output: ``Z̄_L`` = the derivatives of ``r_n = √w ρ(x_n, jet_n)`` with respect to the output's channels, through the
  assembly of the jet from them (``pinn_natmom.diffops.output_jet``: the symmetric Hessian, a Laplacian as its trace);
- linear layer ``Z = A Wᵀ + b``: ``Ā_c = Z̄_c W`` for every channel ``c``, and the Jacobian rows

  .. math:: ∂r_n/∂W_ℓ = \\sum_c Z̄_{ℓ,c}[n]^T A_{ℓ,c}[n], \\qquad ∂r_n/∂b_ℓ = Z̄_{ℓ,\\mathrm{value}}[n] ;

- activation ``a = σ(z)``, ``∂_j a = σ'(z) ∂_j z``, ``Δ_S a = σ'(z) Δ_S z + σ''(z) Q`` with ``Q = Σ_{j∈S} (∂_j z)²``,
  ``∂_p a = σ'(z) ∂_p z + σ''(z) q_p`` with ``q_p = ∂_i z ∂_j z``:

  .. math::
      \\bar z = σ' \\bar a + σ'' \\sum_j ∂_j z\\, \\overline{∂_j a} + (σ'' Δ_S z + σ''' Q)\\, \\overline{Δ_S a}
          + \\sum_p (σ'' ∂_p z + σ''' q_p)\\, \\overline{∂_p a} ,

      \\overline{∂_k z} = σ' \\overline{∂_k a} + 2 [k∈S]\\, σ'' ∂_k z\\, \\overline{Δ_S a}
          + σ'' \\sum_p \\overline{∂_p a} \\big([i=k]\\, ∂_j z + [j=k]\\, ∂_i z\\big) , \\qquad
      \\overline{Δ_S z} = σ' \\overline{Δ_S a}, \\qquad \\overline{∂_p z} = σ' \\overline{∂_p a} ,

  with ``σ'``, ``σ''``, ``σ'''`` from the activation table (``pinn_natmom.activations``).

The first layer's input is ``x`` itself (``∂_j x = e_j``, no second derivatives), so its rows are
``∂r_n/∂W_{1,oi} = \\bar z_{v}[n, o]\\, x_{n,i} + \\overline{∂_i z}[n, o]``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .activations import Activation, activation
from .diffops import ChannelPlan, Channels, Pairs, forward_channels, output_jet, pair_products, squared_gradient
from .network import MLP
from .problem import Collocation, Term


def residual_and_jacobian(mlp: MLP, term: Term, theta: Tensor, pts: Collocation, scale: float,
                          out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``r = scale · ρ`` (``N``) of ``term`` at ``pts`` and its Jacobian (``N × P``; written into ``out`` if given)."""
    x = pts.x
    plan = ChannelPlan.of(term.needs, term.laplacian_dims, x)
    trace: list[tuple[Channels, Channels]] = []
    with torch.no_grad():
        output = forward_channels(mlp, theta, x, plan, trace=trace)
    r, adjoint = output_adjoint(term, x, output, plan, pts.data, scale)
    jacobian = theta.new_empty(len(x), mlp.num_params) if out is None else out
    sigma = activation(mlp.activation)
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
                adjoint = _through_activation(_through_linear(adjoint, w), trace[index - 1][1], a, plan, sigma)
    return r, jacobian


def output_adjoint(term: Term, x: Tensor, output: Channels, plan: ChannelPlan, data: Tensor | None,
                   scale: float) -> tuple[Tensor, Channels]:
    """``r = scale · ρ(x, jet, data)`` with the jet read off the output layer's channels (``output_jet``), and
    ``∂r_n/∂(output channels)`` at every point, shaped as those channels."""
    with torch.enable_grad():
        leaves = [None if p is None else p.detach().requires_grad_(True) for p in output.parts()]
        r = scale * term.residual(x, output_jet(Channels(*leaves), plan), data)
        present = [leaf for leaf in leaves if leaf is not None]
        grads = iter(torch.autograd.grad(r.sum(), present, allow_unused=True, materialize_grads=True))
    return r.detach(), Channels(*(None if leaf is None else next(grads) for leaf in leaves))


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
    for g, inputs in ((adjoint.grad, a.grad), (adjoint.hessian, a.hessian)):
        if inputs is not None:
            pairs += list(zip(g.unbind(0), inputs.unbind(0), strict=True))
    if a.laplacian is not None:
        pairs.append((adjoint.laplacian, a.laplacian))
    (g, inputs), *rest = pairs
    torch.mul(g.unsqueeze(-1), inputs.unsqueeze(-2), out=rows)
    for g, inputs in rest:
        rows.addcmul_(g.unsqueeze(-1), inputs.unsqueeze(-2))


def _through_linear(adjoint: Channels, w: Tensor) -> Channels:
    """``Ā_c = Z̄_c W`` for every channel of ``Z = A Wᵀ + b``."""
    return Channels(*(None if g is None else g @ w for g in adjoint.parts()))


def _through_activation(upstream: Channels, z: Channels, a: Channels, plan: ChannelPlan,
                        sigma: Activation) -> Channels:
    """The adjoints of the channels of ``z`` from those of ``a = σ(z)`` (the rules in the module docstring)."""
    slope, curvature = sigma.derivatives(z.value, a.value)
    value = slope * upstream.value
    if z.grad is None:
        return Channels(value)
    grad = None
    if upstream.grad is not None:
        grad = slope * upstream.grad
        value = value + curvature * (z.grad * upstream.grad).sum(dim=0)
    if upstream.laplacian is not None or upstream.hessian is not None:
        third = sigma.third(a.value, slope, curvature)
        if upstream.laplacian is not None:
            extra_value, extra_grad = _laplacian_adjoint(upstream.laplacian, z, plan.mask, curvature, third)
        else:
            extra_value, extra_grad = _hessian_adjoint(upstream.hessian, z, plan.pairs, curvature, third)
        value = value + extra_value
        grad = extra_grad if grad is None else grad + extra_grad
    laplacian = _scaled(slope, upstream.laplacian, z.laplacian)
    return Channels(value, grad, laplacian, _scaled(slope, upstream.hessian, z.hessian))


def _laplacian_adjoint(bar: Tensor, z: Channels, mask: Tensor | None, curvature: Tensor,
                       third: Tensor) -> tuple[Tensor, Tensor]:
    """The contributions of ``\\overline{Δ_S a}`` (``bar``) to ``z̄`` and ``\\overline{∂_k z}``:
    ``(σ'' Δ_S z + σ''' Q) bar`` and ``2 [k∈S] σ'' ∂_k z bar``."""
    squares = squared_gradient(z.grad, mask)
    second = third * squares if z.laplacian is None else curvature * z.laplacian + third * squares
    weighted = 2.0 * curvature * bar
    return second * bar, weighted * z.grad if mask is None else weighted * z.grad * mask


def _hessian_adjoint(bar: Tensor, z: Channels, pairs: Pairs, curvature: Tensor, third: Tensor) -> tuple[Tensor, Tensor]:
    """The contributions of ``\\overline{∂_p a}`` (``bar``, ``m × N × w``) to ``z̄`` and ``\\overline{∂_k z}``:
    ``Σ_p (σ'' ∂_p z + σ''' q_p) bar_p`` and ``σ'' Σ_p bar_p ([i=k] ∂_j z + [j=k] ∂_i z)``."""
    value = third * (pair_products(z.grad, pairs) * bar).sum(dim=0)
    if z.hessian is not None:
        value = value + curvature * (z.hessian * bar).sum(dim=0)
    return value, curvature * _pair_adjoint(z.grad, bar, pairs)


def _pair_adjoint(grad: Tensor, bar: Tensor, pairs: Pairs) -> Tensor:
    """``T_k = Σ_p bar_p ([i_p=k] ∂_{j_p} z + [j_p=k] ∂_{i_p} z)``, the adjoint of the products ``q_p = ∂_i z ∂_j z``
    with respect to the gradient channels ``grad`` (``d × N × w`` or ``d × 1 × w``); a diagonal pair counts twice."""
    total = bar.new_zeros(grad.shape[0], *bar.shape[1:])
    total.index_add_(0, pairs.first, bar * grad.index_select(0, pairs.second))
    total.index_add_(0, pairs.second, bar * grad.index_select(0, pairs.first))
    return total


def _scaled(slope: Tensor, bar: Tensor | None, channel: Tensor | None) -> Tensor | None:
    """``σ' bar``, the adjoint of a second-order channel of ``z`` — ``None`` where ``z`` or ``a`` does not carry it."""
    return None if bar is None or channel is None else slope * bar
