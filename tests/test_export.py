"""VTK files, PVD series, PNG pictures and the plot script of pinn_natmom.export, checked against the network itself.

Fields are stored in float64: a value read back must equal the network's float64 evaluation to within a few units in
the last place (``1e-13`` relative to the field's largest magnitude; the files hold the forward-Laplacian values).
"""
import dataclasses
import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import meshio
import numpy as np
import pytest
import pyvista
import torch

import pdes
from pdes.manufactured import gradient_of, laplacian_of
from pinn_natmom import api
from pinn_natmom.export import RenderOptions, read_metadata, render_run
from pinn_natmom.export.sections import parse_slice, section_for
from pinn_natmom.network import MLP

ROOT = Path(__file__).resolve().parents[1]
FLOAT64 = 1e-13


def untrained(problem, hidden=(8, 8), seed=0) -> api.Result:
    """A result with a randomly initialised network and a made-up two-row history."""
    mlp = MLP.of(problem.dim, hidden)
    generator = torch.Generator().manual_seed(seed)
    theta = mlp.init(generator) + 0.3 * torch.randn(mlp.num_params, generator=generator, dtype=torch.float64)
    history = [dict(step=s, wall_time_s=0.5 * s, loss=10.0 ** -s, rel_l2=0.5 * 10.0 ** -s, abs_l2=0.1, step_size=1.0,
                    damping=0.0) for s in (0, 1, 2)]
    metrics = {"pde": problem.name, "optimizer": "engd", "rel_l2": 0.005, "steps": 2}
    return api.Result(problem, mlp, theta, history, metrics, api.Options(optimizer="engd").resolved(problem))


def assert_float64_equal(stored, expected):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    assert stored.dtype == np.float64
    assert float(np.abs(stored - expected).max()) <= FLOAT64 * scale


def model_fields(result: api.Result, x: np.ndarray) -> dict[str, np.ndarray]:
    """u, u*, |u − u*| and ρ = −Δu − f by torch.func Hessians (the slow twin of the forward Laplacian)."""
    xt = torch.as_tensor(x)
    u = result(xt)
    field = lambda p: result.network.forward(result.theta, p)
    interior = result.problem.terms[0]
    fields = {"u": u, "residual": -laplacian_of(field)(xt) - interior.data(xt)}
    if result.problem.exact is not None:
        fields["u_exact"] = result.problem.exact(xt)
        fields["abs_error"] = (u - fields["u_exact"]).abs()
    return {k: v.detach().numpy() for k, v in fields.items()}


def test_problems_state_their_bounds_and_coordinate_names():
    heat = pdes.make("heat", hard_bc=False, dim=2, final_time=0.5)
    assert heat.bounds == ((0.0, 1.0), (0.0, 1.0), (0.0, 0.5)) and heat.time_axis == 2
    assert heat.coordinate_names == ("x1", "x2", "t")
    poisson = pdes.make("poisson", hard_bc=False, dim=5)
    assert poisson.bounds == ((0.0, 1.0),) * 5 and poisson.time_axis is None
    assert poisson.coordinate_names == ("x1", "x2", "x3", "x4", "x5")
    assert pdes.make("helmholtz", hard_bc=False, dim=3).bounds == ((0.0, 1.0),) * 3
    with pytest.raises(ValueError, match="bounds must be 2 pairs"):
        dataclasses.replace(poisson, dim=2, bounds=((0.0, 1.0),), terms=())
    with pytest.raises(ValueError, match="time axis must be within 0…4, got 5"):
        dataclasses.replace(poisson, time_axis=5)


def test_vtu_holds_every_field_at_the_grid_points(tmp_path):
    result = untrained(pdes.make("poisson", hard_bc=False, dim=2))
    written = render_run(result, tmp_path, RenderOptions(grid=21, plots=False))
    assert written == [tmp_path / "field.vtu"]
    mesh = meshio.read(tmp_path / "field.vtu")
    assert mesh.points.shape == (441, 3) and [(c.type, len(c.data)) for c in mesh.cells] == [("quad", 400)]
    ticks = np.linspace(0.0, 1.0, 21)
    grid = np.stack([np.tile(ticks, 21), np.repeat(ticks, 21)], axis=1)  # x1 fastest
    assert float(np.abs(mesh.points[:, :2] - grid).max()) == 0.0 and not mesh.points[:, 2].any()
    expected = model_fields(result, grid)
    assert sorted(mesh.point_data) == sorted(expected)
    for name, values in expected.items():
        assert_float64_equal(mesh.point_data[name], values)
    assert float(np.abs(expected["residual"]).max()) > 1.0  # an untrained net: the residual check is not vacuous
    metadata = read_metadata(mesh.field_data)
    assert metadata == {"pde": "poisson", "optimizer": "engd", "rel_l2": 0.005, "steps": 2.0, "axes": "x1,x2"}
    same = pyvista.read(tmp_path / "field.vtu")
    assert read_metadata(same.field_data) == metadata
    np.testing.assert_array_equal(same.point_data["residual"], mesh.point_data["residual"])


@pytest.mark.parametrize("dim,cell,points,cells", [(1, "line", 9, 8), (3, "hexahedron", 729, 512)])
def test_lines_and_volumes(dim, cell, points, cells, tmp_path):
    result = untrained(pdes.make("poisson", hard_bc=False, dim=dim))
    render_run(result, tmp_path, RenderOptions(grid=9, plots=False))
    mesh = meshio.read(tmp_path / "field.vtu")
    assert [(c.type, len(c.data)) for c in mesh.cells] == [(cell, cells)] and mesh.points.shape == (points, 3)
    x = mesh.points[:, :dim].astype(np.float64)
    assert_float64_equal(mesh.point_data["u"], result(torch.as_tensor(x)).numpy())
    assert_float64_equal(mesh.point_data["residual"], model_fields(result, x)["residual"])


def test_five_dimensional_problem_writes_the_requested_slice(tmp_path):
    result = untrained(pdes.make("poisson", hard_bc=False, dim=5))
    render_run(result, tmp_path, RenderOptions(grid=11, slice="x1,x3;x2=0.25", plots=False))
    mesh = meshio.read(tmp_path / "field.vtu")
    metadata = read_metadata(mesh.field_data)
    assert metadata["axes"] == "x1,x3"
    assert (metadata["fixed_x2"], metadata["fixed_x4"], metadata["fixed_x5"]) == (0.25, 0.5, 0.5)
    assert mesh.points.shape == (121, 3)
    x = np.empty((121, 5))
    x[:, [0, 2]] = mesh.points[:, :2]
    x[:, [1, 3, 4]] = (0.25, 0.5, 0.5)
    for name, values in model_fields(result, x).items():
        assert_float64_equal(mesh.point_data[name], values)


def test_default_section_of_a_high_dimensional_problem_is_the_centre_slice():
    section = section_for(pdes.make("poisson", hard_bc=False, dim=7))
    assert section.axis_names == ("x1", "x2") and section.counts == (200, 200)
    assert section.fixed == tuple((j, 0.5) for j in range(2, 7))
    volume = section_for(pdes.make("heat", hard_bc=False, dim=3))
    assert volume.axes == (0, 1, 2) and volume.counts == (64, 64, 64) and volume.fixed == ((3, 0.0),)
    assert section_for(pdes.make("poisson", hard_bc=False, dim=100)).counts == (63, 63)  # 63² · 100 ≤ 10 · 200²
    assert section_for(pdes.make("poisson", hard_bc=False, dim=100), points_per_axis=150).counts == (150, 150)


def test_heat_writes_a_pvd_time_series(tmp_path):
    result = untrained(pdes.make("heat", hard_bc=False, dim=1, final_time=2.0))
    written = render_run(result, tmp_path, RenderOptions(grid=11, frames=5, plots=False))
    pvd = tmp_path / "field.pvd"
    assert written[-1] == pvd and len(written) == 6
    entries = ET.parse(pvd).getroot().find("Collection").findall("DataSet")
    times = [float(e.get("timestep")) for e in entries]
    assert times == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all((tmp_path / e.get("file")).is_file() for e in entries)
    reader = pyvista.get_reader(pvd)
    assert list(reader.time_values) == times
    reader.set_active_time_value(1.5)
    frame = reader.read()[0]
    x = np.stack([np.asarray(frame.points[:, 0], dtype=np.float64), np.full(11, 1.5)], axis=1)
    assert_float64_equal(np.asarray(frame.point_data["u"]), result(torch.as_tensor(x)).numpy())
    stored = meshio.read(tmp_path / entries[3].get("file"))
    assert read_metadata(stored.field_data)["time"] == 1.5
    xt = torch.as_tensor(x)
    assert_float64_equal(stored.point_data["u_exact"], result.problem.exact(xt).numpy())
    field = lambda p: result.network.forward(result.theta, p)
    rho = gradient_of(field)(xt)[:, 1] - 0.25 * laplacian_of(field, (0,))(xt)  # ∂_t u − κ ∂²_x u, f = 0
    assert_float64_equal(stored.point_data["residual"], rho.detach().numpy())
    for entry in entries:
        frame = meshio.read(tmp_path / entry.get("file"))
        u, exact, error = (frame.point_data[name] for name in ("u", "u_exact", "abs_error"))
        assert frame.points.dtype == np.float64
        assert float(np.abs(np.abs(u - exact) - error).max()) <= 1e-15


def pixels(path: Path) -> np.ndarray:
    return matplotlib.image.imread(path)[..., :3]


@pytest.mark.parametrize(
    "name,options,drawn",
    [
        ("poisson", dict(dim=2), "pyvista surfaces"),
        ("poisson", dict(dim=1), "matplotlib lines"),
        ("poisson", dict(dim=3), "pyvista volume slices"),
        ("heat", dict(dim=1), "matplotlib snapshots"),
        ("heat", dict(dim=2), "pyvista snapshots"),
        ("poisson", dict(dim=2, source=lambda x: torch.ones(x.shape[:-1])), "no exact solution: residual"),
    ],
)
def test_pictures_have_the_requested_size_and_show_something(name, options, drawn, tmp_path):
    result = untrained(pdes.make(name, **{"hard_bc": False, **options}))
    written = render_run(result, tmp_path, RenderOptions(grid=12, frames=3, image_size=(640, 360)))
    for picture in ("field.png", "curves.png"):
        assert tmp_path / picture in written
        image = pixels(tmp_path / picture)
        assert image.shape == (360, 640, 3), drawn
        assert float(image.std()) > 0.05 and float((image.mean(axis=2) < 0.5).mean()) > 0.005, drawn


@pytest.mark.parametrize(
    "problem,spec,message",
    [
        (("poisson", 5), "x1,x9", "unknown coordinate(s) x9"),
        (("poisson", 5), "x1,x2;x3=high", "bad fixed coordinate 'x3=high'"),
        (("poisson", 5), "x1,x2;x3=1.5", "x3 = 1.5 lies outside its range [0, 1]"),
        (("poisson", 5), "x1,x1", "names a coordinate twice"),
        (("poisson", 5), "x1,x2;x2=0.5", "names a coordinate twice"),
        (("poisson", 5), "x1,x2,x3,x4", "between one and three coordinates may vary, got 4"),
        (("heat", 2), "x1,t", "time is set by the output frames"),
    ],
)
def test_bad_slices_are_refused_with_the_reason(problem, spec, message):
    with pytest.raises(ValueError) as error:
        section_for(pdes.make(problem[0], hard_bc=False, dim=problem[1]), spec)
    assert message in str(error.value)


def test_slice_spec_parses_into_varying_and_fixed_coordinates():
    names = ("x1", "x2", "x3", "x4")
    assert parse_slice("x1,x3", names) == (("x1", "x3"), {})
    assert parse_slice(" x4 , x1 ; x2 = 0.25, x3=1 ", names) == (("x4", "x1"), {"x2": 0.25, "x3": 1.0})


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    """A run folder written by solve.py: 2-d Poisson, 2 steps of a 2→8→1 network."""
    run = tmp_path_factory.mktemp("saved") / "run"
    trained = run_script("solve.py", "--pde", "poisson", "--steps", "2", "--hidden", "8", "--n-interior", "60",
                         "--n-boundary", "20", "--n-eval", "100", "--out", str(run), "--quiet")
    assert trained.returncode == 0, trained.stderr
    return run


def test_plot_script_renders_a_saved_run(saved_run, tmp_path):
    done = run_script("plot.py", str(saved_run), "--grid", "15", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    mesh = meshio.read(tmp_path / "field.vtu")
    assert mesh.points.shape == (225, 3) and pixels(tmp_path / "field.png").shape == (700, 1600, 3)
    assert pixels(tmp_path / "curves.png").shape == (700, 1600, 3)
    result = untrained(pdes.make("poisson", hard_bc=False, dim=2), hidden=(8,))
    result.theta = torch.load(saved_run / "checkpoint.pt", weights_only=True)["theta"]
    assert_float64_equal(mesh.point_data["u"], result(torch.as_tensor(mesh.points[:, :2].astype(np.float64))).numpy())


def test_plot_script_reports_a_missing_run_folder_in_one_line():
    done = run_script("plot.py", "/no/such/run")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("plot.py: error: no run folder at /no/such/run") and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["RUN", "--grid", "1"], "plot.py: error: the grid needs at least 2 points per axis, got 1\n"),
        (["RUN", "--frames", "x"], "plot.py: error: argument --frames: invalid int value: 'x' (see --help)\n"),
        (["RUN", "--slice", "x1,x7"], "plot.py: error: slice 'x1,x7' names unknown coordinate(s) x7; coordinates are "
                                      'x1, x2 (a slice is given as "x1,x2" or "x1,x2;x3=0.25,x4=0.5")\n'),
        (["RUN", "--slice", "x1;x2=7"], "plot.py: error: slice 'x1;x2=7': x2 = 7 lies outside its range [0, 1]\n"),
    ],
)
def test_plot_script_usage_errors_exit_2_with_one_line(args, message, saved_run, capsys):
    spec = importlib.util.spec_from_file_location("plot_script", ROOT / "scripts" / "plot.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    try:
        status = script.main([str(saved_run) if a == "RUN" else a for a in args])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    assert (status, captured.out, captured.err) == (2, "", message)
