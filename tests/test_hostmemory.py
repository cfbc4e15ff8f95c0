import platform
import resource

import pytest

import pdes
from pinn_natmom import api
from pinn_natmom.cli.hostmemory import ENVIRONMENT, keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_training_steps_reuse_freed_memory_without_page_faults(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert keep_freed_memory()
    problem = pdes.make("poisson", hard_bc=False, dim=2)
    run = dict(hidden=(64,), n_points={"interior": 900, "boundary": 120}, steps=8, seed=0)
    api.solve(problem, **run)
    before = page_faults()
    api.solve(problem, **run)
    assert page_faults() - before < 8 * 300  # glibc's own thresholds: about 3,500 a step on this run


def test_an_explicit_environment_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not keep_freed_memory()
