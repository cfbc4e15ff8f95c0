"""A run as the command line and the run folder describe it: settings (``settings``) → problem and options, and a
saved run folder → the trained field (``load_result``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..options import Options
from ..problem import Problem
from . import families, settings, userfile
from .errors import ConfigError

BOUNDARY_ASKED = ("hard_bc", False)
"""A family parameter and the value it takes, when left unset, on a run that gives a ``boundary`` point count: points
for a boundary term ask for a boundary term rather than the exact Dirichlet constraint."""

WEIGHT_SETTING = ("boundary_weight", "boundary")
"""A family parameter that sets the weight of a term's mean square, and that term: left unset, the saved settings
record the weight the term was given (``Term.mean_weight``)."""


def problem_of(given: Mapping[str, Any]) -> Problem:
    """The problem of the user's file (``problem_file``), else the one named by ``pde`` with the problem settings
    given (``BOUNDARY_ASKED`` filled in where the family takes it)."""
    table = settings.table()
    own = {s.name for s in settings.USER_FILE}
    problem = {name: given.get(name) for name, s in table.items()
               if s.group == "problem" and name != "pde" and name not in own}
    if given.get("problem_file") is not None:
        clashing = sorted(name for name, value in problem.items() if value is not None)
        if clashing:
            raise ConfigError(f"--problem takes the whole problem from its file; "
                              f"{', '.join('--' + n.replace('_', '-') for n in clashing)} cannot be given with it")
        return userfile.load(given["problem_file"], given.get("problem_sha256"))
    parameter, value = BOUNDARY_ASKED
    family = families.catalogue().get(given["pde"])
    if ("boundary" in (given.get("n_points") or {}) and problem.get(parameter) is None and family is not None
            and parameter in families.parameters(family)):
        problem[parameter] = value
    return families.build(given["pde"], problem)


def options_of(given: Mapping[str, Any], problem: Problem) -> Options:
    """The run options given, resolved for ``problem`` (its recommendations fill the unset ones)."""
    table = settings.table()
    run = {name: value for name, value in given.items() if value is not None and table.get(name) is not None
           and table[name].group == "run"}
    return Options(**run, n_points=given.get("n_points") or None).resolved(problem)


def resolve(given: Mapping[str, Any]) -> tuple[Problem, Options]:
    """The problem and resolved options of a complete set of settings (``settings.defaults`` updated)."""
    problem = problem_of(given)
    return problem, options_of(given, problem)


def resolved(given: Mapping[str, Any], problem: Problem, options: Options) -> dict[str, Any]:
    """The settings with every default spelt out (the family's parameter defaults, whether the Dirichlet data were
    imposed exactly and the boundary term's weight, the problem's recommended network, solver and point counts), so
    that a saved configuration does not depend on defaults that may change."""
    out = dict(given)
    if given.get("problem_file") is not None:
        out.update(pde=problem.name, problem_file=given["problem_file"].resolve(),
                   problem_sha256=userfile.digest(given["problem_file"]))
    else:
        taken = families.defaults(given["pde"])
        for key, default in taken.items():
            if out.get(key) is None:
                out[key] = default
        parameter, _ = BOUNDARY_ASKED
        if parameter in taken and out[parameter] is None:
            out[parameter] = problem.output is not None
        parameter, term = WEIGHT_SETTING
        if parameter in taken and out[parameter] is None and term in problem.term_names:
            out[parameter] = problem.terms[problem.term_names.index(term)].mean_weight
    table = settings.table()
    out.update({name: getattr(options, name) for name, s in table.items() if s.group == "run"})
    out["init"] = options.network(1).resolved_init
    out["n_points"] = dict(options.n_points)
    return out


def describe(given: Mapping[str, Any]) -> str:
    """The catalogue for ``--list``: every family's default problem, or, when the settings ``given`` on the command
    line name a family (``pde``), that family's problem with the problem settings given; each with its terms and
    point counts and the run options it recommends; then the catalogues the libraries register (``pdes``: its named
    domains)."""
    pde = given.get("pde")
    lines = []
    for name in list(families.catalogue()) if pde is None else [pde]:
        problem = families.build(name, {}) if pde is None else problem_of(given)
        counts = ", ".join(f"{t.name} {t.points}" for t in problem.terms)
        taken = ", ".join("--" + key.replace("_", "-") for key in families.defaults(name))
        recommended = ", ".join(f"{key} {_shown(value)}" for key, value in problem.recommended.items()) or "none"
        lines += [f"{name}: {problem.description}",
                  f"    input dimension {problem.dim}; points {counts}",
                  f"    recommends: {recommended}",
                  f"    problem settings: {taken}"]
    for name, text in families.catalogues().items():
        lines += [f"{name}:", *("    " + line for line in text.splitlines())]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}" if isinstance(value, float) else str(value)
