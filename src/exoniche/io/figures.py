"""The one way a figure is written to disk: PNG at :data:`DPI`, trimmed to its content, then closed.

Every report, study, calibration plot and ``--plot``/``--out`` option of the command line saves through
:func:`save_figure`, so all figures share one resolution and no figure stays open in a long run.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, also without a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 130


def save_figure(figure, path: str | Path) -> Path:
    """Write ``figure`` (a Figure, or an Axes or array of Axes on it) as a PNG and close it.

    Parameters
    ----------
    figure : matplotlib.figure.Figure or matplotlib.axes.Axes or sequence of Axes
        What to save; for Axes, the figure they are drawn on.
    path : str or Path
        The file to write; missing parent folders are created.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = save_figure(ax, Path(d) / "line.png")
    ...     print(out.name, out.read_bytes()[1:4], plt.fignum_exists(fig.number))
    line.png b'PNG' False
    """
    fig = figure
    while not isinstance(fig, Figure):  # Axes -> Figure; an array of Axes -> its first
        fig = fig.figure if hasattr(fig, "figure") else next(iter(getattr(fig, "flat", fig)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path
