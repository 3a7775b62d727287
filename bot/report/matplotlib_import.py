"""matplotlib for the simulation's PnL figure, loaded without its 3D toolkit.

``matplotlib.projections`` imports ``mpl_toolkits.mplot3d`` to register the "3d" projection: a
tenth of matplotlib's import (40-80 ms here), on the critical path of every ``simulate`` whose
figure is drawn in process, for a projection the bot never draws. ``load_matplotlib`` makes that
import fail while ``matplotlib.projections`` loads (a ``None`` entry in ``sys.modules``, Python's
documented way to block an import; matplotlib catches the failure and registers the other
projections) and removes the block right after, so ``mpl_toolkits.mplot3d`` stays importable.

In a process whose matplotlib was first loaded here, "3d" is not a registered projection: a
caller that wants one registers it (``matplotlib.projections.register_projection(Axes3D)``).
Where matplotlib is already loaded, nothing changes.
"""

from __future__ import annotations

import sys
import warnings

_TOOLKIT = "mpl_toolkits.mplot3d"


def load_matplotlib() -> None:
    """Import ``matplotlib.projections`` (and so matplotlib) without the 3D toolkit, when neither
    is loaded yet; otherwise do nothing."""
    if "matplotlib.projections" in sys.modules or _TOOLKIT in sys.modules:
        return
    sys.modules[_TOOLKIT] = None  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            # matplotlib's own note for a broken install ("Unable to import Axes3D ..."): not one here
            warnings.filterwarnings("ignore", message="Unable to import Axes3D")
            import matplotlib.projections  # noqa: F401
    finally:
        if sys.modules.get(_TOOLKIT, 0) is None:
            del sys.modules[_TOOLKIT]
