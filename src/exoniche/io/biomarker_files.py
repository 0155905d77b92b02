"""Files of the biomarker commands' ``--plot`` and ``--out`` options (figures through :mod:`exoniche.io.figures`)."""

from __future__ import annotations

import json
from pathlib import Path

from exoniche.io.figures import save_figure


def write_roc_files(analysis, plot: str | Path | None = None, out: str | Path | None = None) -> list[Path]:
    """Write what ``exoniche biomarkers roc --plot/--out`` writes for an :class:`~exoniche.biomarkers.ROCAnalysis`.

    Parameters
    ----------
    analysis : ROCAnalysis
        From :func:`exoniche.biomarkers.analyze_roc`.
    plot : str or Path, optional
        A PNG of all curves.
    out : str or Path, optional
        A folder with ``roc.png``, ``roc_curves.csv``, ``roc.json`` (and ``pr_curves.csv`` with ``pr``).

    Returns
    -------
    list of Path
        The files written, in that order.
    """
    written = []
    if plot:
        written.append(save_figure(analysis.plot(), Path(plot)))
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written.append(save_figure(analysis.plot(), out / "roc.png"))
        analysis.curves().to_csv(out / "roc_curves.csv", index=False)
        (out / "roc.json").write_text(json.dumps(analysis.document, indent=2, default=float))
        written += [out / "roc_curves.csv", out / "roc.json"]
        if analysis.pr:
            analysis.pr_curves().to_csv(out / "pr_curves.csv", index=False)
            written.append(out / "pr_curves.csv")
    return written
