"""Render a saved run again: ``python scripts/plot.py RUN_DIR`` (``--help`` for the options). The command lives in
``pinn_natmom.cli.plot``."""
import sys

from pinn_natmom.cli.plot import main

if __name__ == "__main__":
    sys.exit(main())
