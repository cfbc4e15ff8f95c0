"""The geometry layer: samplers, boundaries, normals, measures, ADFs, output meshes and errors of every domain."""
import math

import meshio
import numpy as np
import pytest
import torch
from scipy.stats import chi2

import pdes
from pdes import Ball, Box, Domain, Mesh, Polygon
from pdes.domains import (
    interior_sampler,
    latin_hypercube_interior,
    sobol_interior,
    uniform_boundary,
    uniform_interior,
)
from pdes.geometry import NAMED, Difference, Intersection, Union, describe, named
from pdes.neumann import face_names, outward_normal

N = 4000


def gen(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def annulus_mesh(path, rings: int = 6, sectors: int = 48) -> None:
    """A structured triangle mesh of the annulus 0.5 ≤ r ≤ 1 (z column of zeros), physical lines outer/inner."""
    radius = np.linspace(0.5, 1.0, rings + 1)
    angle = 2 * np.pi * np.arange(sectors) / sectors
    r, a = np.meshgrid(radius, angle, indexing="ij")
    points = np.stack([r * np.cos(a), r * np.sin(a), np.zeros_like(r)], axis=-1).reshape(-1, 3)
    index = np.arange(len(points)).reshape(rings + 1, sectors)
    nxt = np.roll(index, -1, axis=1)
    triangles = np.concatenate([np.stack([index[:-1], index[1:], nxt[1:]], -1).reshape(-1, 3),
                                np.stack([index[:-1], nxt[1:], nxt[:-1]], -1).reshape(-1, 3)])
    lines = np.concatenate([np.stack([index[-1], nxt[-1]], -1), np.stack([index[0], nxt[0]], -1)])
    tags = np.repeat([1, 2], sectors)
    mesh = meshio.Mesh(points, [("line", lines), ("triangle", triangles)],
                       cell_data={"gmsh:physical": [tags, np.zeros(len(triangles), int)],
                                  "gmsh:geometrical": [tags, np.ones(len(triangles), int)]},
                       field_data={"outer": np.array([1, 1]), "inner": np.array([2, 1])})
    meshio.write(path, mesh, file_format="gmsh22", binary=False)


@pytest.fixture(scope="module")
def mesh_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meshes")
    annulus_mesh(folder / "annulus.msh")
    points, cells = Box.unit(3).output_mesh(3)
    meshio.write(folder / "cube.vtu", meshio.Mesh(points, [("tetra", cells)]))
    return folder


SHAPES = {
    "box2": lambda files: Box((0.0, -1.0), (2.0, 1.0)),
    "box3": lambda files: Box.unit(3),
    "disk": lambda files: Ball((0.5, -0.25), 1.5),
    "ball3": lambda files: Ball((0.0, 0.0, 0.0), 1.0),
    "lshape": lambda files: NAMED["lshape"](),
    "plate": lambda files: NAMED["plate-with-hole"](),
    "annulus": lambda files: NAMED["annulus"](),
    "union": lambda files: Box.unit(2) | Ball((1.0, 0.5), 0.5),
    "trimesh": lambda files: Mesh.read(files / "annulus.msh"),
    "tetmesh": lambda files: Mesh.read(files / "cube.vtu"),
}


@pytest.fixture(scope="module")
def shapes(mesh_files):
    return {name: make(mesh_files) for name, make in SHAPES.items()}


def test_box_samplers_give_the_numbers_they_gave_before_the_geometry_layer():
    """Snapshot of ``pdes.domains`` before the geometry layer (torch's Sobol scrambling depends on the default dtype,
    float64 in these tests)."""
    box = Box((0.0, -1.0, 2.0), (1.0, 3.0, 2.5))
    snapshot = {
        uniform_interior: [[0.279380429906404, 0.09477485460706259, 2.4310464807088126],
                           [0.16744060179820508, -0.8494650376693227, 2.061094921187703]],
        sobol_interior: [[0.4055131310597062, -0.8058173209428787, 2.258975449949503],  # under float64 default
                         [0.14248745422810316, 0.11109081283211708, 2.1437608748674393]],
        latin_hypercube_interior: [[0.05894242160257675, 1.848577277897724, 2.3763043411212137],
                                   [0.8219871771415497, -0.20510644883623996, 2.192419207329467]],
        uniform_boundary: [[0.279380429906404, 0.09477485460706259, 2.5],
                           [0.16744060179820508, -0.8494650376693227, 2.5]],
    }
    for make, (first, last) in snapshot.items():
        x = make(box)(5, gen())
        assert x[0].tolist() == first and x[-1].tolist() == last
    faces = uniform_boundary(box, (1, 4))(5, gen())
    assert faces[1].tolist() == [1.0, 2.6901174698119488, 2.4197726878811934] and faces[0, 2] == 2.0
    assert interior_sampler("grid", Box.unit(2))(4, gen()).tolist() == [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25],
                                                                         [0.75, 0.75]]
    assert box.face_measures().tolist() == [2.0, 2.0, 0.5, 0.5, 4.0, 4.0]
    assert box.bounds == ((0.0, 1.0), (-1.0, 3.0), (2.0, 2.5))


def test_box_methods_are_the_legacy_samplers_and_the_neumann_faces():
    box = Box((0.0, -1.0, 2.0), (1.0, 3.0, 2.5))
    for kind in ("uniform", "sobol", "lhs"):
        assert torch.equal(box.interior_sampler(kind)(50, gen()), interior_sampler(kind, box)(50, gen()))
    assert torch.equal(box.boundary_sampler()(50, gen()), uniform_boundary(box)(50, gen()))
    assert torch.equal(box.boundary_sampler(("x1=1", "x3=0"))(50, gen()), uniform_boundary(box, (1, 4))(50, gen()))
    assert box.parts == tuple(face_names((f,)) for f in range(6))
    x = box.boundary_sampler()(200, gen())
    assert torch.equal(box.normal(x), outward_normal(box, tuple(range(6)), x))
    assert box.measure == 2.0 and box.boundary_measures["x3=0"] == 4.0 and box.bounding_box is box
    assert Box([0, 0], [1, 2]) == Box((0.0, 0.0), (1.0, 2.0))


@pytest.mark.parametrize("name", SHAPES)
def test_interior_samplers_stay_inside_and_repeat_with_the_seed(shapes, name):
    domain = shapes[name]
    for kind in ("uniform", "sobol", "lhs"):
        sampler = domain.interior_sampler(kind)
        x = sampler(500, gen())
        assert x.shape == (500, domain.dim) and x.dtype == torch.float64
        assert bool(domain.contains(x).all())
        assert torch.equal(x, sampler(500, gen())) and not torch.equal(x, sampler(500, gen(8)))
    with pytest.raises(ValueError, match="unknown sampler 'halton'"):
        domain.interior_sampler("halton")


@pytest.mark.parametrize("name", SHAPES)
def test_boundary_points_lie_on_the_boundary_with_unit_outward_normals(shapes, name):
    domain = shapes[name]
    x = domain.boundary_sampler()(N, gen())
    assert torch.equal(x, domain.boundary_sampler()(N, gen()))
    assert bool(domain.contains(x).all())
    exact = domain.distance(x)
    if exact is not None:
        assert float(exact.abs().max()) <= 1e-12
    if isinstance(domain, (Union, Difference, Intersection)):
        on_a, on_b = domain.a.distance(x).abs() <= 1e-12, domain.b.distance(x).abs() <= 1e-12
        assert bool((on_a | on_b).all())
    assert float(domain.boundary_distance(x).max()) <= 1e-12  # for a mesh: on a boundary facet
    n = domain.normal(x)
    assert torch.allclose(torch.linalg.norm(n, dim=1), torch.ones(N), atol=1e-12)
    eps = 1e-6 * float(torch.linalg.norm(domain.bounding_box.widths))
    assert bool(domain.contains(x - eps * n, tol=0.0).all()) and not bool(domain.contains(x + eps * n, tol=0.0).any())
    if exact is not None and not isinstance(domain, Mesh):  # ∇(signed distance) = −n just inside
        y = (x - 1e-7 * eps * n).requires_grad_(True)
        (gradient,) = torch.autograd.grad(domain.distance(y).sum(), y)
        assert torch.allclose(gradient, -n, atol=1e-6)


@pytest.mark.parametrize("name", SHAPES)
def test_each_part_is_sampled_alone_and_in_proportion_to_its_measure(shapes, name):
    domain = shapes[name]
    measures = torch.tensor([domain.boundary_measures[p] for p in domain.parts])
    for index, part in enumerate(domain.parts):
        x = domain.boundary_sampler((part,))(300, gen())
        assert bool((domain.part_of(x) == index).all()), part
    counts = torch.bincount(domain.part_of(domain.boundary_sampler()(N, gen())), minlength=len(measures))
    expected = N * measures / measures.sum()
    if len(measures) > 1:
        assert chi2.sf(float(((counts - expected) ** 2 / expected).sum()), len(measures) - 1) > 1e-3
    else:
        assert counts[0] == N
    sobol = domain.boundary_sampler(kind="sobol")(N, gen())
    assert float(domain.boundary_distance(sobol).max()) <= 1e-12
    with pytest.raises(ValueError, match="unknown boundary part"):
        domain.boundary_sampler(("nowhere",))


def grid_cell(x: torch.Tensor, box: Box, per_axis: int) -> torch.Tensor:
    """The index of the cell of a ``per_axis^d`` grid over ``box`` holding each point."""
    unit = ((x - torch.tensor(box.lo)) / box.widths * per_axis).long().clamp(0, per_axis - 1)
    flat = torch.zeros(len(x), dtype=torch.long)
    for j in range(x.shape[1]):
        flat = flat * per_axis + unit[:, j]
    return flat


def chi2_pvalue(observed: torch.Tensor, proportions: torch.Tensor) -> float:
    """Pearson's χ² p-value of counts against proportions (bins expecting fewer than 5 points merged into one)."""
    expected = observed.sum() * proportions
    small = expected < 5
    observed = torch.cat([observed[~small], observed[small].sum().reshape(1)])
    expected = torch.cat([expected[~small], expected[small].sum().reshape(1)])
    keep = expected > 0
    statistic = float(((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    return float(chi2.sf(statistic, int(keep.sum()) - 1))


@pytest.mark.parametrize("name", SHAPES)
def test_interior_samples_are_uniform_by_a_chi2_test_on_a_grid(shapes, name):
    domain = shapes[name]
    box, per_axis = domain.bounding_box, 6 if domain.dim == 2 else 3
    reference = box.scale(torch.quasirandom.SobolEngine(domain.dim, scramble=True, seed=1).draw(2**17,
                                                                                                dtype=torch.float64))
    reference = reference[domain.contains(reference, tol=0.0)]
    proportions = torch.bincount(grid_cell(reference, box, per_axis), minlength=per_axis**domain.dim) / len(reference)
    for kind in ("uniform", "sobol", "lhs"):
        x = domain.interior_sampler(kind)(20000, gen(3))
        observed = torch.bincount(grid_cell(x, box, per_axis), minlength=per_axis**domain.dim).double()
        assert chi2_pvalue(observed, proportions) > 1e-3, kind


def test_disk_samples_are_uniform_on_equal_area_rings_and_sectors_and_a_biased_sampler_fails():
    disk, n, rings, sectors = Ball((0.0, 0.0), 2.0), 20000, 5, 8

    def cells(x):
        r, angle = torch.linalg.norm(x, dim=1), torch.atan2(x[:, 1], x[:, 0]) + math.pi
        ring = (rings * (r / 2.0) ** 2).long().clamp(max=rings - 1)
        return ring * sectors + (sectors * angle / (2 * math.pi)).long().clamp(max=sectors - 1)

    equal = torch.full((rings * sectors,), 1.0 / (rings * sectors))
    x = disk.interior_sampler()(n, gen(5))
    assert chi2_pvalue(torch.bincount(cells(x), minlength=rings * sectors).double(), equal) > 1e-3
    g = gen(5)
    direction = torch.nn.functional.normalize(torch.randn(n, 2, generator=g), dim=1)
    biased = 2.0 * torch.rand(n, 1, generator=g) * direction  # r uniform: crowds the centre
    assert chi2_pvalue(torch.bincount(cells(biased), minlength=rings * sectors).double(), equal) < 1e-6


def test_measures_match_closed_forms(shapes, mesh_files):
    assert math.isclose(shapes["disk"].measure, math.pi * 1.5**2, rel_tol=1e-15)
    assert math.isclose(shapes["disk"].boundary_measures["boundary"], 2 * math.pi * 1.5, rel_tol=1e-15)
    assert math.isclose(shapes["ball3"].measure, 4 / 3 * math.pi, rel_tol=1e-15)
    assert math.isclose(shapes["ball3"].boundary_measures["boundary"], 4 * math.pi, rel_tol=1e-15)
    assert shapes["lshape"].measure == 3.0 and sum(shapes["lshape"].boundary_measures.values()) == 8.0
    clockwise = Polygon([(0, 2), (1, 2), (1, 1), (2, 1), (2, 0), (0, 0), (0, 2)])  # reversed, closing vertex dropped
    assert clockwise.measure == 3.0 and clockwise.vertices.tolist()[:2] == [[0, 0], [2, 0]]
    plate = shapes["plate"]
    assert math.isclose(plate.measure, 1 - math.pi * 0.2**2, rel_tol=1e-14)
    assert plate.parts == ("x1=0", "x1=1", "x2=0", "x2=1", "hole")
    assert math.isclose(plate.boundary_measures["hole"], 2 * math.pi * 0.2, rel_tol=1e-14)
    annulus = shapes["annulus"]
    assert math.isclose(annulus.measure, 0.75 * math.pi, rel_tol=1e-14) and annulus.parts == ("outer", "inner")
    assert math.isclose(annulus.boundary_measures["inner"], math.pi, rel_tol=1e-14)
    union = shapes["union"]  # quasi-Monte Carlo: the face x1=1 lies inside the disk and is dropped
    assert math.isclose(union.measure, 1 + math.pi / 8, rel_tol=1e-3)
    assert union.parts == ("x1=0", "x2=0", "x2=1", "boundary")
    assert math.isclose(union.boundary_measures["boundary"], math.pi / 2, rel_tol=1e-3)
    assert math.isclose(union.boundary_measures["x2=0"], 1.0, rel_tol=1e-3)
    corner = Box.unit(2) - Box((0.5, 0.5), (2.0, 2.0))
    assert math.isclose(corner.measure, 0.75, rel_tol=1e-3) and math.isclose(sum(corner.boundary_measures.values()), 4.0,
                                                                              rel_tol=1e-3)
    assert set(corner.parts) == {"a.x1=0", "a.x1=1", "a.x2=0", "a.x2=1", "b.x1=0", "b.x2=0"}
    lens = Ball((0.0, 0.0), 1.0) & Ball((1.0, 0.0), 1.0)
    assert math.isclose(lens.measure, 2 * math.pi / 3 - math.sqrt(3) / 2, rel_tol=1e-3)
    assert math.isclose(sum(lens.boundary_measures.values()), 4 * math.pi / 3, rel_tol=1e-3)
    trimesh, sectors = shapes["trimesh"], 48
    points = meshio.read(mesh_files / "annulus.msh")
    triangles = points.points[points.cells_dict["triangle"]]
    edges = triangles[:, 1:, :2] - triangles[:, :1, :2]
    area = 0.5 * np.abs(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0])
    assert trimesh.dim == 2 and math.isclose(trimesh.measure, area.sum(), rel_tol=1e-13)
    assert math.isclose(trimesh.measure, sectors / 2 * math.sin(2 * math.pi / sectors) * 0.75, rel_tol=1e-13)
    assert trimesh.parts == ("outer", "inner")
    assert math.isclose(trimesh.boundary_measures["inner"], sectors * math.sin(math.pi / sectors), rel_tol=1e-13)
    tetmesh = shapes["tetmesh"]
    assert tetmesh.dim == 3 and math.isclose(tetmesh.measure, 1.0, rel_tol=1e-13)
    assert tetmesh.parts == ("boundary",) and math.isclose(tetmesh.boundary_measures["boundary"], 6.0, rel_tol=1e-13)


def test_nested_set_operations_and_meshes_in_set_operations(shapes):
    nest = (NAMED["plate-with-hole"]() - Ball((0.0, 0.0), 0.3)) & Ball((0.5, 0.5), 0.6)
    assert nest.parts == ("x1=0", "x1=1", "x2=0", "x2=1", "hole", "a.boundary", "b.boundary")
    measures = nest.boundary_measures
    assert math.isclose(measures["x1=0"], 0.2 + math.sqrt(0.11), rel_tol=1e-3)  # y from 0.3 to 0.5 + √0.11
    assert math.isclose(measures["a.boundary"], 0.15 * math.pi, rel_tol=1e-3) and measures["hole"] == 0.4 * math.pi
    x = nest.boundary_sampler()(2000, gen())
    n, eps = nest.normal(x), 1e-7
    assert bool(nest.contains(x - eps * n, tol=0.0).all()) and not bool(nest.contains(x + eps * n, tol=0.0).any())
    assert bool(nest.contains(nest.interior_sampler("sobol")(2000, gen())).all())
    hollow = shapes["tetmesh"] - Ball((0.5, 0.5, 0.5), 0.3)  # closed form: the ball is inside the mesh
    assert math.isclose(hollow.measure, 1 - 4 / 3 * math.pi * 0.3**3, rel_tol=1e-13)
    assert hollow.parts == ("a.boundary", "b.boundary")
    x = hollow.boundary_sampler(("b.boundary",))(500, gen())
    assert torch.allclose(hollow.normal(x), -(x - 0.5) / 0.3, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in SHAPES if not n.endswith("mesh")])
def test_adf_vanishes_on_the_boundary_grows_like_the_distance_and_has_finite_second_derivatives(shapes, name):
    domain = shapes[name]
    inside = domain.interior_sampler()(300, gen())
    boundary = domain.boundary_sampler()(300, gen())
    assert float(domain.adf(boundary).abs().max()) <= 1e-10
    assert bool((domain.adf(inside) > 0).all())
    outside = domain.bounding_box.scale(torch.rand(2000, domain.dim, generator=gen()) * 1.4 - 0.2)
    outside = outside[~domain.contains(outside, tol=1e-9)]
    assert bool((domain.adf(outside) < 0).all())
    delta = 1e-7
    ratio = domain.adf(boundary - delta * domain.normal(boundary)) / delta  # first-order normalised
    assert float(ratio.min()) > 0.5 and float(ratio.max()) < 1.5
    for x in (inside, boundary):
        y = x.clone().requires_grad_(True)
        phi = domain.adf(y)
        (gradient,) = torch.autograd.grad(phi.sum(), y, create_graph=True)
        laplacian = sum(torch.autograd.grad(gradient[:, j].sum(), y, retain_graph=True)[0][:, j]
                        for j in range(domain.dim))
        assert bool(torch.isfinite(phi).all() & torch.isfinite(gradient).all() & torch.isfinite(laplacian).all())
    assert float(torch.linalg.norm(gradient, dim=1).detach().max()) < 10.0


def test_a_mesh_has_no_adf_and_raises_a_clear_error(shapes):
    with pytest.raises(NotImplementedError, match="no approximate distance function"):
        shapes["trimesh"].adf(torch.zeros(1, 2))


@pytest.mark.parametrize("name", SHAPES)
def test_output_mesh_covers_the_domain_with_simplices_inside(shapes, name):
    domain = shapes[name]
    points, cells = domain.output_mesh(16)
    assert points.dtype == np.float64 and points.shape[1] == domain.dim and cells.shape[1] == domain.dim + 1
    assert cells.min() >= 0 and cells.max() < len(points)
    vertices = points[cells]
    volumes = np.abs(np.linalg.det(vertices[:, 1:] - vertices[:, :1])) / math.factorial(domain.dim)
    assert volumes.min() > 0
    tolerance = 1e-12 if isinstance(domain, (Box, Polygon, Mesh)) else 0.03
    assert math.isclose(volumes.sum(), domain.measure, rel_tol=tolerance)
    assert bool(domain.contains(torch.from_numpy(vertices.mean(axis=1))).all())
    if isinstance(domain, Mesh):
        assert points is domain.points and cells is domain.cells


def test_mesh_constructor_from_arrays_and_z_column():
    points = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    mesh = Mesh(points, [[0, 1, 2], [1, 3, 2]])
    assert mesh.dim == 2 and mesh.measure == 1.0 and mesh.parts == ("boundary",)
    assert mesh.boundary_measures == {"boundary": 4.0}
    x = torch.tensor([[0.5, 0.5], [1.0, 0.5], [1.0 + 1e-9, 0.5], [1.5, 0.5]])
    assert mesh.contains(x).tolist() == [True, True, False, False]
    assert mesh.contains(x, tol=1e-8).tolist() == [True, True, True, False]
    assert mesh.contains(x, tol=-0.1).tolist() == [True, False, False, False]
    assert torch.allclose(mesh.distance(x), torch.tensor([0.5, 0.0, -1e-9, -0.5]), atol=1e-15)
    assert mesh.normal(x[1:2]).tolist() == [[1.0, 0.0]]
    grouped = Mesh(points[:, :2], [[0, 1, 2], [1, 3, 2]], groups={"right": np.array([[3, 1]]), "inner": [[1, 2]]})
    assert grouped.parts == ("right", "boundary") and grouped.boundary_measures == {"right": 1.0, "boundary": 3.0}
    assert grouped.part_of(torch.tensor([[1.0, 0.25], [0.25, 1.0]])).tolist() == [0, 1]


@pytest.mark.parametrize("build,message", [
    (lambda: Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "the polygon is not simple: edges 0 and 2 cross"),
    (lambda: Polygon([(0, 0), (2, 0), (2, 1), (3, 1), (3, 2), (0, 2), (2, 0.5)]), "the polygon is not simple: edges"),
    (lambda: Polygon([(0, 0), (1, 0)]), "at least 3 vertices"),
    (lambda: Box.unit(2) - Ball((0.0, 0.0, 0.0), 1.0), "dimensions 2 and 3 differ"),
    (lambda: Ball((0.0, 0.0, 0.0), 1.0) | Box.unit(2), "dimensions 3 and 2 differ"),
    (lambda: Ball((0.0, 0.0), 0.5) - Box((-1.0, -1.0), (1.0, 1.0)), r"the difference .* is empty"),
    (lambda: Box.unit(2) - Box.unit(2), r"the difference .* is empty"),
    (lambda: Ball((0.0, 0.0), 1.0) & Ball((5.0, 5.0), 1.0), r"the intersection .* is empty"),
    (lambda: Ball((0.0, 0.0), -1.0), "positive radius"),
    (lambda: Mesh([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], [[0, 1, 2]]), "cell 0 .* is degenerate"),
])
def test_bad_input_raises_a_value_error_that_says_what_is_wrong(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_mesh_files_raise_value_errors_naming_the_file_and_the_problem(tmp_path):
    broken = tmp_path / "broken.msh"
    broken.write_text("this is not a mesh\n")
    with pytest.raises(ValueError, match=r"cannot read the mesh file .*broken\.msh"):
        Mesh.read(broken)
    with pytest.raises(ValueError, match=r"cannot read the mesh file .*missing\.vtu"):
        Mesh.read(tmp_path / "missing.vtu")
    quads = tmp_path / "quads.vtu"
    meshio.write(quads, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]), [("quad", [[0, 1, 2, 3]])]))
    with pytest.raises(ValueError, match=r"quads\.vtu has no triangle or tetra cells \(its cell types: quad\)"):
        Mesh.read(quads)


def test_named_domains_and_the_package_exports():
    assert list(NAMED) == ["box", "disk", "lshape", "annulus", "plate-with-hole"]
    text = describe()
    assert all(line.startswith(name + ":") for name, line in zip(NAMED, text.splitlines(), strict=True))
    assert "measure 3," in text and "measure 3.14159" in text
    assert isinstance(named("disk"), Ball) and named("box") == Box.unit(2)
    with pytest.raises(ValueError, match="unknown domain 'moon'"):
        named("moon")
    assert all(isinstance(getattr(pdes, n), type) and n in pdes.__all__ for n in ("Box", "Ball", "Polygon", "Mesh"))
    assert issubclass(Box, Domain) and issubclass(Mesh, Domain) and pdes.Domain is Domain
    assert isinstance(Box.unit(2) & Ball((1.0, 1.0), 0.5), Intersection)
