"""A problem defined in a user's Python file (``--problem FILE``): a module-level function ``problem()`` returning a
``pinn_natmom.problem.Problem``.

The file is run as a module of its own; ``config.json`` records its absolute path and the SHA-256 of its text, and a
run resumed or reloaded from that folder refuses a file whose text changed. Only the command line names such a
file: configuration files never execute code.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from ..problem import Problem
from .errors import ConfigError


def digest(path: Path) -> str:
    """The SHA-256 of the file's bytes, in hexadecimal."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as error:
        raise ConfigError(f"cannot read the problem file {path}: {error.strerror or error}") from None


def load(path: Path, expected: str | None = None) -> Problem:
    """The problem ``problem()`` of the file ``path`` returns; with ``expected``, the file's SHA-256 must equal it."""
    path = Path(path)
    found = digest(path)
    if expected is not None and found != expected:
        raise ConfigError(f"the problem file {path} changed since the run was made (its SHA-256 is not the one "
                          "config.json records); restore it, or start a new run")
    spec = importlib.util.spec_from_file_location(f"problem_file_{found[:16]}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"the problem file {path} is not a Python file; give a .py file defining problem()")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        make = getattr(module, "problem", None)
        if not callable(make):
            raise ConfigError(f"the problem file {path} defines no function problem(); add one that returns the "
                              "problem (e.g. pdes.custom(...))")
        problem = make()
    except ConfigError:
        raise
    except Exception as error:  # the user's code: report whatever it raised, in one line
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ConfigError(f"the problem file {path} failed: {type(error).__name__}: {reason}") from error
    if not isinstance(problem, Problem):
        raise ConfigError(f"problem() in {path} returned a {type(problem).__name__}, not a pinn_natmom.problem.Problem")
    return problem
