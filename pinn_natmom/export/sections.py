"""Where a trained field is sampled: a tensor grid over one to three varying input coordinates, the others fixed.

A problem with at most three spatial coordinates is sampled over its whole bounding box. With more, the grid lies
in a slice: the varying coordinates run over their full ranges and every other coordinate is held fixed, by
default at the centre ``(lo + hi)/2`` of its range. Time is never a varying coordinate: a time-dependent problem is
sampled on one section per output time (``Section.at_time``).

A problem that gives a mesh of its spatial domain (``Problem.mesh``) is sampled on that mesh's nodes instead
(``MeshSection``), unless a slice is asked for: nothing lies outside the domain.

Slice specification (``--slice``): the varying coordinates, comma-separated, optionally followed by ``;`` and fixed
values ``name=value``, comma-separated, e.g. ``"x1,x3"`` or ``"x1,x3;x2=0.25,x4=0.7"``. Coordinates neither varying
nor given are fixed at their centre. Names are the problem's ``coordinate_names``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..problem import Problem

DEFAULT_POINTS_PER_AXIS = {1: 1000, 2: 200, 3: 64}
"""Grid points per varying coordinate when none is asked for: lines, surfaces, volumes (64³ ≈ 262 000 points)."""
MESH_RESOLUTION = {1: 1000, 2: 200, 3: 32}
"""Cells across the widest side of a domain's output mesh when no grid size is asked for."""
DEFAULT_WORK = 10 * 200**2
"""Beyond 10 input coordinates the default grid is coarser, so that points × input dimension stays within this:
evaluating the residual costs about the input dimension per point (e.g. 63 × 63 points for d = 100)."""
MAX_POINTS = 2**24
"""The largest grid one section may hold (≈ 16.8 million points)."""


class Sampled:
    """What the output reads of a set of sample points: ``names`` (all the problem's coordinate names), the varying
    coordinates ``axes``, the others ``fixed``, and the points in the varying coordinates (``local_points``)."""

    names: tuple[str, ...]
    axes: tuple[int, ...]
    fixed: tuple[tuple[int, float], ...]

    @property
    def dim(self) -> int:
        """The number of varying coordinates: 1 (line), 2 (surface) or 3 (volume)."""
        return len(self.axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(self.names[j] for j in self.axes)

    def local_points(self) -> np.ndarray:
        raise NotImplementedError

    def points(self) -> np.ndarray:
        """``N × d`` input points of the problem: the varying coordinates from ``local_points``, the others fixed."""
        local = self.local_points()
        full = np.empty((local.shape[0], len(self.names)))
        for j, value in self.fixed:
            full[:, j] = value
        full[:, list(self.axes)] = local
        return full

    def at_time(self, axis: int, time: float) -> Sampled:
        """The same points with the (fixed) coordinate ``axis`` set to ``time``."""
        return replace(self, fixed=tuple((j, time if j == axis else v) for j, v in self.fixed))


@dataclass(frozen=True)
class Section(Sampled):
    """A tensor grid: ``counts[k]`` equispaced values over ``ranges[k]`` for each varying coordinate ``axes[k]``,
    every other coordinate ``j`` fixed at ``fixed[j]``.

    ``names`` are all the problem's coordinate names. Points are ordered with the first varying coordinate fastest
    (the point order of VTK's structured grids).
    """

    names: tuple[str, ...]
    axes: tuple[int, ...]
    ranges: tuple[tuple[float, float], ...]
    counts: tuple[int, ...]
    fixed: tuple[tuple[int, float], ...]

    @property
    def num_points(self) -> int:
        return int(np.prod(self.counts))

    def axis_values(self) -> list[np.ndarray]:
        """The grid values of each varying coordinate, ``linspace(lo, hi, count)``."""
        return [np.linspace(lo, hi, n) for (lo, hi), n in zip(self.ranges, self.counts, strict=True)]

    def local_points(self) -> np.ndarray:
        """``N × dim`` coordinates of the points in the section's own axes (first varying coordinate fastest)."""
        mesh = np.meshgrid(*self.axis_values(), indexing="ij")
        return np.stack([m.ravel(order="F") for m in mesh], axis=1)



@dataclass(frozen=True)
class MeshSection(Sampled):
    """The nodes ``nodes`` (``m × len(axes)``) and simplices ``cells`` of a mesh of the spatial domain spanned by the
    coordinates ``axes``; every other coordinate ``j`` (time) fixed at ``fixed[j]``. The same interface as
    ``Section`` where the output reads it."""

    names: tuple[str, ...]
    axes: tuple[int, ...]
    nodes: np.ndarray
    cells: np.ndarray
    fixed: tuple[tuple[int, float], ...] = ()

    @property
    def num_points(self) -> int:
        return int(self.nodes.shape[0])

    def local_points(self) -> np.ndarray:
        return self.nodes


def mesh_section(problem: Problem, resolution: int | None = None) -> MeshSection:
    """The problem's own mesh of its spatial domain (``Problem.mesh``) at ``resolution`` (default
    ``MESH_RESOLUTION``), time fixed at its start."""
    spatial = tuple(j for j in range(problem.dim) if j != problem.time_axis)
    if resolution is not None and resolution < 2:
        raise ValueError(f"an output mesh needs a resolution of at least 2, got {resolution}")
    nodes, cells = problem.mesh(resolution or MESH_RESOLUTION.get(len(spatial), 32))
    fixed = () if problem.time_axis is None else ((problem.time_axis, problem.bounds[problem.time_axis][0]),)
    return MeshSection(problem.coordinate_names, spatial, np.asarray(nodes, dtype=np.float64),
                       np.asarray(cells, dtype=np.int64), fixed)


def parse_slice(spec: str, names: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, float]]:
    """``"x1,x3;x2=0.25"`` → ``(("x1", "x3"), {"x2": 0.25})``; a ``ValueError`` naming the format otherwise."""
    form = 'a slice is given as "x1,x2" or "x1,x2;x3=0.25,x4=0.5"'
    varying_text, _, fixed_text = spec.partition(";")
    varying = tuple(part.strip() for part in varying_text.split(","))
    fixed: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in fixed_text.split(","))):
        name, _, value = item.partition("=")
        if not _is_finite_number(value):
            raise ValueError(f"bad fixed coordinate {item!r} in slice {spec!r}; {form}")
        if name.strip() in fixed:
            raise ValueError(f"slice {spec!r} names a coordinate twice; {form}")
        fixed[name.strip()] = float(value)
    unknown = [n for n in (*varying, *fixed) if n not in names]
    if unknown:
        raise ValueError(f"slice {spec!r} names unknown coordinate(s) {', '.join(unknown)}; coordinates are "
                         f"{', '.join(names)} ({form})")
    if len(set(varying)) != len(varying) or set(varying) & set(fixed):
        raise ValueError(f"slice {spec!r} names a coordinate twice; {form}")
    return varying, fixed


def section_for(problem: Problem, slice_spec: str | None = None,
                points_per_axis: int | None = None) -> Section | MeshSection:
    """The section of ``problem`` to sample: its own mesh where it gives one (``mesh_section``; ``points_per_axis``
    is then the mesh's resolution), else the whole box for ≤ 3 spatial coordinates, else the slice through the
    centre along the first two; ``slice_spec`` (module docstring) chooses a slice of the box. Time, if any, is fixed
    at its start. ``points_per_axis`` defaults to ``DEFAULT_POINTS_PER_AXIS``, fewer beyond 10 input coordinates
    (``DEFAULT_WORK``)."""
    if problem.mesh is not None and slice_spec is None:
        return mesh_section(problem, points_per_axis)
    if problem.bounds is None:
        raise ValueError(f"problem {problem.name!r} does not state its domain bounds; it cannot be sampled on a grid")
    names = problem.coordinate_names
    spatial = [j for j in range(problem.dim) if j != problem.time_axis]
    if slice_spec is None:
        axes, given = spatial[: 3 if len(spatial) <= 3 else 2], {}
    else:
        varying, values = parse_slice(slice_spec, names)
        timed = [n for n in (*varying, *values) if problem.time_axis is not None and n == names[problem.time_axis]]
        if timed:
            raise ValueError(f"slice {slice_spec!r}: time is set by the output frames, not by the slice")
        if not 1 <= len(varying) <= 3:
            raise ValueError(f"slice {slice_spec!r}: between one and three coordinates may vary, got {len(varying)}")
        axes = [names.index(n) for n in varying]
        given = {names.index(n): v for n, v in values.items()}
    for j, value in given.items():
        lo, hi = problem.bounds[j]
        if not lo <= value <= hi:
            raise ValueError(f"slice {slice_spec!r}: {names[j]} = {value:g} lies outside its range [{lo:g}, {hi:g}]")
    count = points_per_axis
    if count is None:
        count = DEFAULT_POINTS_PER_AXIS[len(axes)]
        if problem.dim > 10:
            count = max(2, min(count, int((DEFAULT_WORK / problem.dim) ** (1.0 / len(axes)))))
    if count < 2:
        raise ValueError(f"a grid needs at least 2 points per axis, got {count}")
    if count ** len(axes) > MAX_POINTS:
        raise ValueError(f"a grid of {count}^{len(axes)} points exceeds {MAX_POINTS} points; ask for fewer per axis")
    centre = {j: 0.5 * (lo + hi) for j, (lo, hi) in enumerate(problem.bounds)}
    if problem.time_axis is not None:
        centre[problem.time_axis] = problem.bounds[problem.time_axis][0]
    fixed = tuple((j, given.get(j, centre[j])) for j in range(problem.dim) if j not in axes)
    return Section(names, tuple(axes), tuple(problem.bounds[j] for j in axes), (count,) * len(axes), fixed)


def _is_finite_number(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False
