"""The PDE families the command line offers, and their parameters as problem settings.

A *family* is a factory ``(**parameters) -> Problem``. Libraries register a mapping of them, by name, under the
entry-point group ``GROUP`` (``pdes`` registers ``poisson``, ``heat`` and ``helmholtz``); the command line
knows them only from there. A parameter with a plain type (``int``, ``float``, ``bool``, ``str``, optionally
``None``; a union with one such kind, e.g. ``str | Sequence[str]`` or ``str | Domain``, counts as that kind: the
command line gives it, the other members are for Python callers) becomes a setting ``--<name>``, with its help from the
factory's docstring (its ``Args:`` section); parameters that take functions (an exact solution, a source term) are
for Python only.
"""
from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from ..problem import Problem
from .errors import ConfigError

GROUP = "pinn_natmom.families"
CATALOGUES = "pinn_natmom.catalogues"
"""The entry-point group of the texts ``--list`` shows after the families (``catalogues``)."""
Family = Callable[..., Problem]
KINDS = {int: "int", float: "float", bool: "bool", str: "str"}


@dataclass(frozen=True)
class ProblemSetting:
    """A parameter of one or more families: its kind, help text and the families (``owners``) that take it."""

    name: str
    kind: str
    help: str
    owners: tuple[str, ...]


@functools.cache
def catalogue() -> dict[str, Family]:
    """Every family registered under ``GROUP``, by name (a name registered twice is an error)."""
    found: dict[str, Family] = {}
    for point in entry_points(group=GROUP):
        for name, factory in point.load().items():
            if name in found and found[name] is not factory:
                raise ConfigError(f"two installed libraries register a PDE family named {name!r}")
            found[name] = factory
    if not found:
        raise ConfigError(f"no PDE families are installed (entry points {GROUP!r}); install the project with "
                          "pip install -e . so that its pdes package registers them")
    return dict(sorted(found.items()))


def catalogues() -> dict[str, str]:
    """The texts that installed libraries register under ``CATALOGUES`` (a name and a function returning the text),
    for ``--list``: e.g. ``pdes`` lists its named domains with their measures."""
    return {point.name: point.load()() for point in entry_points(group=CATALOGUES)}


def kind_of(annotation: Any) -> str | None:
    """The setting kind of a parameter annotation, or ``None`` when the command line cannot give it."""
    if annotation in KINDS:
        return KINDS[annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        plain = [a for a in options if a in KINDS]
        if len(plain) == 1:
            return KINDS[plain[0]]
    return None


def documented(factory: Family) -> dict[str, str]:
    """The parameter descriptions of the ``Args:`` section of ``factory``'s docstring (continuation lines joined)."""
    lines = inspect.getdoc(factory).splitlines() if factory.__doc__ else []
    texts: dict[str, str] = {}
    inside, current = False, None
    for line in lines:
        if line.strip() == "Args:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break
        match = re.match(r"^ {4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            texts[current] = match.group(2).strip()
        elif current and line.strip():
            texts[current] += " " + line.strip()
    return texts


def parameters(factory: Family) -> dict[str, tuple[str, Any]]:
    """``name → (kind, default)`` of the factory's parameters that the command line can give."""
    hints = typing.get_type_hints(factory)
    out = {}
    for name, parameter in inspect.signature(factory).parameters.items():
        kind = kind_of(hints.get(name))
        if kind is not None:
            out[name] = (kind, parameter.default)
    return out


@functools.cache
def problem_settings() -> dict[str, ProblemSetting]:
    """The union of the families' command-line parameters; a parameter whose kind differs between families is an
    error of those families."""
    families = catalogue()
    found: dict[str, ProblemSetting] = {}
    for family, factory in families.items():
        texts = documented(factory)
        for name, (kind, _) in parameters(factory).items():
            known = found.get(name)
            if known is not None and known.kind != kind:
                raise ConfigError(f"the families {known.owners[0]} and {family} take {name!r} as different kinds")
            text = texts.get(name, name.replace("_", " ")).rstrip(".")
            if known is not None and known.help != text:
                text = known.help.split(" (")[0]
            owners = (*known.owners, family) if known is not None else (family,)
            found[name] = ProblemSetting(name, kind, text, owners)
    shared = len(families)
    return {name: s if len(s.owners) == shared else ProblemSetting(name, s.kind, f"{s.help} ({', '.join(s.owners)})",
                                                                  s.owners)
            for name, s in found.items()}


def build(name: str, given: Mapping[str, Any]) -> Problem:
    """The problem of family ``name`` with the problem settings ``given`` (``None`` values left to the factory); a
    setting of another family, or an unknown family, is a ``ConfigError``."""
    families = catalogue()
    if name not in families:
        raise ConfigError(f"unknown PDE {name!r}; choose from {', '.join(families)}")
    taken = parameters(families[name])
    arguments = {}
    for key, value in given.items():
        if value is None:
            continue
        if key not in taken:
            owners = problem_settings()[key].owners
            raise ConfigError(f"--{key.replace('_', '-')} applies to {', '.join(owners)} only, not {name}")
        arguments[key] = value
    return families[name](**arguments)


def defaults(name: str) -> dict[str, Any]:
    """The defaults of family ``name``'s command-line parameters (``None`` where the factory decides later)."""
    return {key: default for key, (_, default) in parameters(catalogue()[name]).items()}
