"""Measures, normals and point distances of simplices, vectorised over leading axes.

A cell of a ``d``-dimensional mesh is a ``d``-simplex (``d + 1`` vertices); a facet is a ``(d − 1)``-simplex
(``d`` vertices): a segment in 2-d, a triangle in 3-d. Vertex arrays have shape ``(…, vertices, d)``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def cell_measures(vertices: Tensor) -> Tensor:
    """``|det(v_1 − v_0, …, v_d − v_0)| / d!`` of cells ``(…, d + 1, d)``."""
    edges = vertices[..., 1:, :] - vertices[..., :1, :]
    return torch.linalg.det(edges).abs() / math.factorial(vertices.shape[-1])


def facet_measures(vertices: Tensor) -> Tensor:
    """``√det(E Eᵀ) / (d − 1)!`` with ``E`` the edge vectors ``v_i − v_0`` of facets ``(…, d, d)``."""
    edges = vertices[..., 1:, :] - vertices[..., :1, :]
    gram = edges @ edges.transpose(-1, -2)
    return torch.linalg.det(gram).clamp_min(0.0).sqrt() / math.factorial(vertices.shape[-2] - 1)


def facet_normals(vertices: Tensor) -> Tensor:
    """Unit normals of segments in 2-d (``(b − a)`` turned clockwise) or triangles in 3-d (``(b − a) × (c − a)``);
    the orientation follows the vertex order."""
    if vertices.shape[-1] == 2:
        edge = vertices[..., 1, :] - vertices[..., 0, :]
        normal = torch.stack([edge[..., 1], -edge[..., 0]], dim=-1)
    else:
        normal = torch.linalg.cross(vertices[..., 1, :] - vertices[..., 0, :], vertices[..., 2, :] - vertices[..., 0, :])
    return normal / torch.linalg.norm(normal, dim=-1, keepdim=True)


def dot(u: Tensor, v: Tensor) -> Tensor:
    """``Σ_j u_j v_j`` over the last axis, written out by components (torch reduces tiny last axes slowly)."""
    return sum(p * q for p, q in zip(u.unbind(-1), v.unbind(-1), strict=True))


def segment_distance_squared(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Squared distance from ``x`` to the segment ``[a, b]`` (broadcast over leading axes, any dimension):
    ``|x − a − t (b − a)|²`` with ``t = clamp((x − a)·(b − a) / |b − a|², 0, 1)``."""
    edge = b - a
    rel = [xj - aj for xj, aj in zip(x.unbind(-1), a.unbind(-1), strict=True)]
    components = edge.unbind(-1)
    t = (sum(r * e for r, e in zip(rel, components, strict=True)) / dot(edge, edge)).clamp(0.0, 1.0)
    return sum((r - t * e) ** 2 for r, e in zip(rel, components, strict=True))


def segment_distance(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance from ``x`` to the segment ``[a, b]``."""
    return segment_distance_squared(x, a, b).sqrt()


def triangle_distance(x: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Distance from ``x`` to the triangle ``abc`` in 3-d: to its plane where the projection falls inside it,
    otherwise to the nearest of its edges."""
    normal = torch.linalg.cross(b - a, c - a)
    normal = normal / dot(normal, normal).sqrt().unsqueeze(-1)
    height = dot(x - a, normal)
    p = x - height.unsqueeze(-1) * normal
    inside = torch.ones_like(height, dtype=torch.bool)
    for u, v in ((a, b), (b, c), (c, a)):
        inside &= dot(torch.linalg.cross(v - u, p - u), normal) >= 0
    edges = torch.minimum(torch.minimum(segment_distance(x, a, b), segment_distance(x, b, c)), segment_distance(x, c, a))
    return torch.where(inside, height.abs(), edges)


def facet_distance(x: Tensor, vertices: Tensor) -> Tensor:
    """Distance from ``x`` ``(…, d)`` to facets ``(…, d, d)`` (segments in 2-d, triangles in 3-d)."""
    if vertices.shape[-1] == 2:
        return segment_distance(x, vertices[..., 0, :], vertices[..., 1, :])
    return triangle_distance(x, vertices[..., 0, :], vertices[..., 1, :], vertices[..., 2, :])


def barycentric(x: Tensor, origin: Tensor, inverse: Tensor) -> Tensor:
    """Barycentric coordinates ``(…, d + 1)`` of ``x`` in cells given by their first vertex ``origin`` ``(…, d)`` and
    the inverse ``(…, d, d)`` of their edge matrix ``[v_1 − v_0, …, v_d − v_0]`` (as columns)."""
    tail = (inverse @ (x - origin).unsqueeze(-1)).squeeze(-1)
    return torch.cat([1.0 - tail.sum(dim=-1, keepdim=True), tail], dim=-1)
