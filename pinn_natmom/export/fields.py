"""The fields of a trained network at given points: prediction, exact solution, error and PDE residual.

* ``u``: the prediction ``u_θ(x)``;
* ``u_exact``: the exact solution ``u*(x)`` and ``abs_error``: ``|u_θ(x) − u*(x)|``, when the problem knows ``u*``;
* ``residual``: the pointwise, unweighted residual of the problem's interior term,
  ``ρ(x) = ρ_interior(x, jet_θ(x), g(x))``, with the jet of ``u_θ`` from the forward Laplacian
  (``pinn_natmom.diffops.forward_jet``) and the term's data ``g``, as in
  ``pinn_natmom.linearise.residual_vector`` but without the weight ``√w``.

Points are processed in chunks whose forward-Laplacian activations stay within a memory budget.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from ..diffops import channel_count, forward_jet
from ..network import MLP
from ..problem import Problem, Term

FIELD_NAMES = ("u", "u_exact", "abs_error", "residual")


def interior_term(problem: Problem) -> Term:
    """The term named ``interior``, else the problem's first term."""
    return next((t for t in problem.terms if t.name == "interior"), problem.terms[0])


def evaluate_fields(
    problem: Problem, mlp: MLP, theta: Tensor, points: np.ndarray, max_bytes: int = 2**28
) -> dict[str, np.ndarray]:
    """The fields of the module docstring at ``points`` (``N × d``), computed in θ's dtype and device and returned as
    float64 arrays of length ``N``; ``u_exact`` and ``abs_error`` only when the problem has an exact solution."""
    term = interior_term(problem)
    needs = term.needs | {"value"}
    per_point = channel_count(problem.dim, needs) * max(mlp.widths) * theta.element_size() * 8
    chunk = max(1, max_bytes // per_point)
    x_all = torch.as_tensor(points, dtype=theta.dtype, device=theta.device)
    parts: dict[str, list[Tensor]] = {name: [] for name in FIELD_NAMES}
    with torch.no_grad():
        for x in x_all.split(chunk):
            jet = forward_jet(mlp, theta, x, needs, term.laplacian_dims)
            u = problem.field(jet.value, x)
            parts["u"].append(u)
            parts["residual"].append(term.residual(x, jet, None if term.data is None else term.data(x)))
            if problem.exact is not None:
                exact = problem.exact(x)
                parts["u_exact"].append(exact)
                parts["abs_error"].append((u - exact).abs())
    return {name: torch.cat(chunks).cpu().double().numpy() for name, chunks in parts.items() if chunks}


def picture_fields(fields: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The two fields a picture shows, by title: the prediction ``u``, and the absolute error ``|u − u*|`` or, when
    the exact solution is unknown, the residual magnitude ``|ρ|``."""
    if "abs_error" in fields:
        return {"prediction u": fields["u"], "absolute error": fields["abs_error"]}
    return {"prediction u": fields["u"], "residual magnitude": np.abs(fields["residual"])}
