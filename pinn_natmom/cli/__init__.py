"""The command-line layer: settings (one table derived from ``pinn_natmom.options.Options`` and the PDE
families' signatures), the run folder, and the commands ``solve.py`` and ``plot.py``.

It sits above the engine and the PDE library: it imports the engine, and finds the PDE families through the
entry-point group ``pinn_natmom.families`` (``families``); the engine never imports it.
"""
