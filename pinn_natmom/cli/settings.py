"""Run settings: one table (``table``) from which the command line is built and against which TOML and JSON
configuration files are checked.

The table is derived, not written out: the run options are the fields of ``pinn_natmom.options.Options``
(their help, kind and choices from the fields' metadata); the problem settings are the parameters of the PDE
families' factories (``families``; help from their docstrings); the rest say where and how output is shown.
Point counts are per term: ``--n-<term> N`` on the command line, ``n_<term> = N`` in files, for whichever terms
the problem has.

A setting comes, by increasing precedence, from its default, a configuration file (``--config FILE``: TOML, or the
``config.json`` a run folder holds) and the command line. ``None`` (JSON ``null``, or leaving the key out) means
"unset": the problem's recommendation, else the default. An unknown name or a value of the wrong type is a
``ConfigError`` that names the key and, for a misspelt one, the closest valid name.
"""
from __future__ import annotations

import argparse
import difflib
import functools
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..options import INFO
from .errors import ConfigError
from .families import problem_settings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RECORD_ONLY = frozenset({"environment", "input_dim", "problem", "solver_used", "processes"})
"""Keys of a saved ``config.json`` that describe the run rather than set it; read back and ignored."""
COUNT = re.compile(r"^n_([a-z][a-z0-9_]*)$")
"""A point count of the term named by the group: ``n_interior``."""


@dataclass(frozen=True)
class Setting:
    """One setting: its ``kind`` (``int``, ``float``, ``str``, ``bool``, ``widths`` or ``path``), default, help text,
    allowed values, its ``group`` (``problem``: a parameter of the families in ``owners``; ``run``: a field of
    ``Options``; ``output``: where and how output is shown, which a saved ``config.json``
    leaves out) and whether it may change when a run is resumed."""

    name: str
    kind: str
    default: Any
    help: str
    group: str
    choices: tuple[str, ...] | None = None
    resumable: bool = False
    owners: tuple[str, ...] = ()
    alias: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def decides_run(self) -> bool:
        return self.group != "output"


OUTPUT = (
    Setting("checkpoint_every", "int", 10, "write checkpoint.pt every k steps (0: only at the end and on interrupt)",
            "output", resumable=True),
    Setting("plots", "bool", True, "write the VTK files and PNG pictures at the end of the run", "output",
            resumable=True),
    Setting("grid", "int", None, "grid points per axis of the VTK files and pictures (default 1000 on a line, 200 on a "
            "surface, 64 in a volume, fewer beyond 10 input coordinates)", "output", resumable=True),
    Setting("frames", "int", 11, "output times of a time-dependent problem, evenly spaced", "output", resumable=True),
    Setting("slice", "str", None, 'coordinates to vary and fixed values, e.g. "x1,x3" or "x1,x3;x2=0.25" '
            "(default: the whole domain up to 3 coordinates, else x1,x2 through the centre)", "output", resumable=True),
    Setting("out", "path", None, "run folder (default results/runs/<pde>-<timestamp>)", "output"),
    Setting("overwrite", "bool", False, "write into an existing run folder", "output"),
    Setting("quiet", "bool", False, "no progress bar, only the summary line", "output", resumable=True),
)


USER_FILE = (
    Setting("problem_file", "path", None, "a Python file whose function problem() returns the problem to solve, "
            "instead of --pde (command line only)", "problem", alias="--problem"),
    Setting("problem_sha256", "str", None, "the SHA-256 of the problem file's text, which config.json records; a "
            "resumed or reloaded run refuses a changed file", "problem"),
)
"""The settings of a problem taken from a user's file (``userfile``)."""


def _run_settings() -> list[Setting]:
    """The fields of ``Options`` (point counts aside) as settings; the default shown is
    the one an unset option takes where the problem recommends none."""
    settings = []
    for name, info in INFO.items():
        if info.kind == "counts":
            continue
        if info.default is None:
            text = info.help
        else:
            shown = ",".join(map(str, info.default)) if isinstance(info.default, tuple) else info.default
            text = f"{info.help} (default {shown})"
        settings.append(Setting(name, info.kind, None, text, "run", info.choices, info.resumable))
    return settings


@functools.cache
def table() -> dict[str, Setting]:
    """Every setting by name: ``pde``, the problem settings of the installed families, the run options and the
    output settings. A problem setting named like a run option is an error of the family that declares it."""
    problem = problem_settings()
    families = sorted({owner for s in problem.values() for owner in s.owners})
    settings = [Setting("pde", "str", "poisson", f"problem family: {', '.join(families)} (--list describes them)",
                        "problem"), *USER_FILE]
    settings += [Setting(name, s.kind, None, s.help, "problem", owners=s.owners) for name, s in problem.items()]
    settings += _run_settings() + list(OUTPUT)
    by_name: dict[str, Setting] = {}
    for s in settings:
        if s.name in by_name:
            raise ConfigError(f"the setting {s.name!r} is declared twice (a family parameter named like a run option?)")
        by_name[s.name] = s
    return by_name


def add_arguments(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """The settings ``names`` as flags of ``parser`` (``--hidden``; yes/no settings also as ``--no-…``), each with
    default ``None`` so that a flag given can be told from one left out."""
    types = {"int": int, "float": float, "str": str, "widths": _widths_argument, "path": Path}
    settings = table()
    for s in (settings[name] for name in names):
        text = s.help if s.default is None else f"{s.help} (default {s.default})"
        flags = (s.flag, *((s.alias,) if s.alias else ()))
        if s.kind == "bool":
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(*flags, type=types[s.kind], default=None, choices=s.choices, help=text)


def _widths_argument(text: str) -> tuple[int, ...]:
    try:
        return widths(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (flags left out are ``None`` and not included)."""
    settings = table()
    return {name: value for name, value in vars(args).items() if name in settings and value is not None}


def point_counts(extra: list[str]) -> dict[str, int]:
    """Point counts from the arguments argparse did not know: ``--n-interior 900`` or ``--n-interior=900``; any
    other argument is a ``ConfigError`` that suggests the closest flag."""
    counts: dict[str, int] = {}
    items = iter(extra)
    for item in items:
        flag, equals, value = item.partition("=")
        match = COUNT.match(flag.removeprefix("--").replace("-", "_")) if flag.startswith("--") else None
        if match is None:
            flags = [s.flag for s in table().values()]
            near = difflib.get_close_matches(flag, flags, n=1, cutoff=0.6)
            raise ConfigError(f"unrecognized argument {item!r}" + (f" (did you mean {near[0]}?)" if near else ""))
        text = value if equals else next(items, None)
        counts[match.group(1)] = convert_count(match.group(0), text, "the command line")
    return counts


def convert_count(key: str, value: Any, source: str) -> int:
    """A point count: a positive integer (from a string on the command line)."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"{source}: {key} must be a positive integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{source}: {key} must be a positive integer (the number of points), got {value!r}")
    return value


def defaults() -> dict[str, Any]:
    return {name: s.default for name, s in table().items()}


def closest(name: str) -> str:
    """`` (did you mean 'x'?)`` for the nearest setting name, or an empty string."""
    match = difflib.get_close_matches(name, table(), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``values`` with names normalised (``-`` → ``_``), each value converted to its setting's kind, and the point
    counts (``n_<term>``) gathered under ``n_points``.

    Raises ``ConfigError`` naming ``source`` and the key for unknown names, wrong types and disallowed choices.
    """
    settings = table()
    checked: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for raw_name, value in values.items():
        name = str(raw_name).replace("-", "_")
        if name in RECORD_ONLY:
            continue
        if name in settings:
            checked[name] = convert(settings[name], value, source)
        elif COUNT.match(name):
            if value is not None:
                counts[COUNT.match(name).group(1)] = convert_count(name, value, source)
        else:
            raise ConfigError(f"{source}: unknown key {raw_name!r}{closest(name)}")
    if counts:
        checked["n_points"] = counts
    return checked


def convert(setting: Setting, value: Any, source: str) -> Any:
    """The value of ``setting`` from a file: the right type, or ``ConfigError``."""
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
    """The settings that decide a run, as JSON values (for ``config.json``; point counts as ``n_<term>``)."""
    out: dict[str, Any] = {}
    for s in table().values():
        if s.decides_run:
            value = settings.get(s.name)
            out[s.name] = list(value) if isinstance(value, tuple) else str(value) if isinstance(value, Path) else value
    for term, count in (settings.get("n_points") or {}).items():
        out[f"n_{term}"] = count
    return out
