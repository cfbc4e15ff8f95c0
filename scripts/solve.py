"""Solve a PDE with a physics-informed network: ``python scripts/solve.py --pde poisson`` (``--help`` for the
options). The command lives in ``pinn_natmom.cli.solve``."""
import sys

from pinn_natmom import distributed
from pinn_natmom.cli.solve import main

if __name__ == "__main__":
    status = main()
    if distributed.world_size() > 1:
        distributed.finish(status)
    sys.exit(status)
