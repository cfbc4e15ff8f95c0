"""Run settings: one table (:data:`SETTINGS`) from which the command line is built and against which TOML and JSON
configuration files are checked.

A setting comes, by increasing precedence, from its default, a configuration file (``--config FILE``: TOML, or the
``config.json`` a run folder holds) and the command line. Files are flat tables of setting names (``n_interior`` or
``n-interior``); an unknown name or a value of the wrong type is a :class:`ConfigError` that names the key and, for
a misspelt one, the closest valid name. ``None`` (JSON ``null``, or leaving the key out) means "the default", which
for ``hidden``, ``solver`` and the point counts is the problem's recommendation.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import optim
from .linearise import JACOBIAN_METHODS
from .model import ACTIVATIONS, INITS
from .solvers import SOLVER_NAMES

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DTYPE_NAMES = ("float64", "float32")
ACTIVATION_NAMES = tuple(ACTIVATIONS)
DEVICE_NAMES = ("auto", "cpu", "cuda")
RECORD_ONLY = frozenset({"environment", "input_dim", "problem", "solver_used", "processes"})
"""Keys of a saved ``config.json`` that describe the run rather than set it; read back and ignored."""


class ConfigError(ValueError):
    """A setting that cannot be used, reported in one line."""


@dataclass(frozen=True)
class Setting:
    """One option: its ``kind`` (``int``, ``float``, ``str``, ``bool``, ``widths`` or ``path``), default, help text,
    allowed values, whether it describes the run (``False`` for where and how output is shown, which a saved
    ``config.json`` leaves out) and whether it may change when a run is resumed."""

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    decides_run: bool = True
    resumable: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("pde", "str", "poisson", "problem to solve: poisson, heat, helmholtz"),
    Setting("dim", "int", None, "spatial dimension (default: poisson and helmholtz 2, heat 1)"),
    Setting("k", "float", None, "wave number of helmholtz (default 4π; 4.5π in 1-d)"),
    Setting("diffusivity", "float", None, "κ of heat (default 0.25)"),
    Setting("final_time", "float", None, "T of heat, time interval [0, T] (default 1)"),
    Setting("sampler", "str", None, "interior points: uniform (default), sobol, lhs, grid (n must be a d-th power)"),
    Setting("hidden", "widths", None, "hidden widths, e.g. 64 or 32,32 (default 32,32; helmholtz 32,32)"),
    Setting("activation", "str", None, "activation of the hidden layers (default tanh; helmholtz sin)", ACTIVATION_NAMES),
    Setting("frequency", "float", None, "scale of the first layer's initial weights (default 1; helmholtz k)"),
    Setting("init", "str", None, "initial weights: uniform (PyTorch's nn.Linear default) or glorot (Glorot-normal, "
            "zero biases); default auto: glorot for sine networks, else uniform; poisson d ≥ 4: glorot", INITS),
    Setting("n_interior", "int", None, "interior points (default 900; 2-d Poisson 700)"),
    Setting("n_boundary", "int", None, "boundary points (default 120; 2-d Poisson 100)"),
    Setting("n_initial", "int", None, "initial-condition points of heat (default 120)"),
    Setting("neumann", "str", None, 'faces with Neumann data ∂u/∂n = h instead of Dirichlet data, e.g. "x1=0,x2=1"'),
    Setting("n_neumann", "int", None, "points on the Neumann faces (default 120)"),
    Setting("hard_bc", "bool", None, "impose the Dirichlet data exactly by an output transform u = g̃ + φ·N (drops the "
            "boundary term)"),
    Setting("n_eval", "int", 10_000, "points for the error"),
    Setting("resample_every", "int", None, "redraw the points every k steps (default 0: never; poisson d ≥ 4: 1)"),
    Setting("optimizer", "str", None, "training algorithm (default natural-auto; poisson in 1-d and 3-d: engd)",
            tuple(optim.OPTIMIZERS)),
    Setting("momentum", "float", None, "β of the momentum optimizers (μ of spring); default per optimizer"),
    Setting("warmup_adam", "int", 0, "Adam steps before the optimizer"),
    Setting("solver", "str", None, "direction solver (default auto; heat pinv)", SOLVER_NAMES),
    Setting("damping", "float", 1e-10, "λ of the damped solvers dense, woodbury, nystrom, nystrom-pcg"),
    Setting("adaptive_damping", "bool", False, "Levenberg–Marquardt λ: ÷10 after a full step that lowered the loss, ×10 "
            "after one that did not, never below --damping"),
    Setting("rcond", "float", None, "singular-value cut-off of pinv/svd (default: 3e-7 pinv, 1e-9 svd; heat 1.5e-7, "
            "poisson d ≥ 4: 1e-6)"),
    Setting("sketch_size", "int", None, "sketch size ℓ of nystrom and nystrom-pcg (default 1000, at most min(N, P))"),
    Setting("cg_steps", "int", None, "preconditioned CG steps of nystrom-pcg (default 20)"),
    Setting("mixed_precision", "bool", False, "build J in float32 (TF32 on CUDA), keep r, θ and the solve in float64"),
    Setting("lr", "float", None, "fixed step size when the line search is off; Adam's learning rate (default per optimizer)"),
    Setting("line_search", "bool", None, "choose the step by the grid line search (default on, except spring)"),
    Setting("jacobian", "str", "forward", "forward Laplacian or torch.func reference", JACOBIAN_METHODS),
    Setting("cuda_graphs", "bool", True, "on CUDA, replay each step's network work from CUDA graphs"),
    Setting("steps", "int", None, "optimizer steps (default 60; heat 200, poisson d ≥ 4: 400)", resumable=True),
    Setting("time_limit", "float", None, "stop after this many seconds of training", resumable=True),
    Setting("target_rel_l2", "float", None, "stop once the relative L2 error reaches this", resumable=True),
    Setting("seed", "int", 0, "seed of the initial network and the points"),
    Setting("device", "str", "auto", "auto: CUDA when present", DEVICE_NAMES),
    Setting("dtype", "str", "float64", "floating-point type", DTYPE_NAMES),
    Setting("checkpoint_every", "int", 10, "write checkpoint.pt every k steps (0: only at the end and on interrupt)",
            decides_run=False, resumable=True),
    Setting("plots", "bool", True, "write the VTK files and PNG pictures at the end of the run", decides_run=False,
            resumable=True),
    Setting("grid", "int", None, "grid points per axis of the VTK files and pictures (default 1000 on a line, 200 on a "
            "surface, 64 in a volume, fewer beyond 10 input coordinates)", decides_run=False, resumable=True),
    Setting("frames", "int", 11, "output times of heat, evenly spaced over [0, T]", decides_run=False, resumable=True),
    Setting("slice", "str", None, 'coordinates to vary and fixed values, e.g. "x1,x3" or "x1,x3;x2=0.25" '
            "(default: the whole domain up to 3 coordinates, else x1,x2 through the centre)", decides_run=False,
            resumable=True),
    Setting("out", "path", None, "run folder (default results/runs/<pde>-<timestamp>)", decides_run=False),
    Setting("overwrite", "bool", False, "write into an existing run folder", decides_run=False),
    Setting("quiet", "bool", False, "no progress bar, only the summary line", decides_run=False, resumable=True),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def add_arguments(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """The settings ``names`` as flags of ``parser`` (``--n-interior``; yes/no settings also as ``--no-…``), each with
    default ``None`` so that a flag given can be told from one left out."""
    types = {"int": int, "float": float, "str": str, "widths": _widths_argument, "path": Path}
    for s in (BY_NAME[name] for name in names):
        text = s.help if s.default is None else f"{s.help} (default {s.default})"
        if s.kind == "bool":
            parser.add_argument(s.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(s.flag, type=types[s.kind], default=None, choices=s.choices, help=text)


def _widths_argument(text: str) -> tuple[int, ...]:
    try:
        return widths(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (flags left out are ``None`` and not included)."""
    return {name: value for name, value in vars(args).items() if name in BY_NAME and value is not None}


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def closest(name: str) -> str:
    """`` (did you mean 'x'?)`` for the nearest setting name, or an empty string."""
    match = difflib.get_close_matches(name, BY_NAME, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``values`` with names normalised (``-`` → ``_``) and each value converted to its setting's kind.

    Raises :class:`ConfigError` naming ``source`` and the key for unknown names, wrong types and disallowed choices.
    """
    checked: dict[str, Any] = {}
    for raw_name, value in values.items():
        name = str(raw_name).replace("-", "_")
        if name in RECORD_ONLY:
            continue
        if name not in BY_NAME:
            raise ConfigError(f"{source}: unknown key {raw_name!r}{closest(name)}")
        checked[name] = convert(BY_NAME[name], value, source)
    return checked


def convert(setting: Setting, value: Any, source: str) -> Any:
    """The value of ``setting`` from a file: the right type, or :class:`ConfigError`."""
    if value is None:
        return None
    where = f"{source}: key {setting.name!r}"
    kind = setting.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
    elif kind == "widths":
        value = widths(value, where)
    elif kind in ("str", "path"):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        value = Path(value) if kind == "path" else value
    if setting.choices is not None and value not in setting.choices:
        raise ConfigError(f"{where} must be one of {', '.join(setting.choices)}, got {value!r}")
    return value


def widths(value: Any, where: str = "hidden") -> tuple[int, ...]:
    """Hidden widths from ``64``, ``"32,32"`` or ``[32, 32]``: positive integers."""
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",")]
        except ValueError:
            raise ConfigError(f"{where}: hidden widths must be comma-separated integers like 64,64, got {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise ConfigError(f"{where}: hidden widths must be positive integers like [32, 32], got {value!r}")
    return tuple(value)


def read(path: Path) -> dict[str, Any]:
    """The checked settings of a TOML file or a run folder's ``config.json`` (chosen by the suffix ``.json``)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the configuration {path}: {error.strerror or error}") from None
    try:
        raw = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        kind = "JSON" if Path(path).suffix == ".json" else "TOML"
        raise ConfigError(f"{path} is not valid {kind}: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a table of settings, got {type(raw).__name__}")
    return check(raw, str(path))


def saved(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that decide a run, as JSON values (for ``config.json``)."""
    out: dict[str, Any] = {}
    for s in SETTINGS:
        if s.decides_run:
            value = settings.get(s.name)
            out[s.name] = list(value) if isinstance(value, tuple) else value
    return out
