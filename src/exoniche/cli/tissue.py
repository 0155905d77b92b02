"""``exoniche tissue SCENARIO.toml`` (one organ's niche in tissue) and ``exoniche tissue verify``."""

from __future__ import annotations

from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION, console, print_json


def _verify(json_: bool) -> None:
    from exoniche.engines.tissue.verify import MASS_TOL, POINT_SOURCE_TOL, verify

    res = verify()
    ok = res["point_source_rel_err"] <= POINT_SOURCE_TOL and res["mass_rel_err"] <= MASS_TOL and \
        res["thread_identical"]
    if json_:
        print_json({k: res[k] for k in ("point_source_rel_err", "mass_rel_err", "thread_identical")})
    else:
        ps = res["details"]["point_source"]
        console.print(f"point source (3-D steady state, r >= 3 voxels, {ps['voxels']} voxels): relative RMS error "
                      f"{res['point_source_rel_err']:.4f} (<= {POINT_SOURCE_TOL}; largest pointwise "
                      f"{ps['max_pointwise_rel_err']:.3f})")
        console.print(f"mass conservation without decay: relative error {res['mass_rel_err']:.2e} (<= {MASS_TOL:g})")
        console.print(f"1 and 2 threads, same seed: {'identical' if res['thread_identical'] else 'DIFFERENT'}")
        console.print("[green]verify passed[/]" if ok else "[red]verify FAILED[/]")
    if not ok:
        raise typer.Exit(1)


def tissue(
    scenario: str = typer.Argument(..., metavar="SCENARIO.toml|verify",
                                   help="A scenario with a [tissue] table, or `verify` for the solver checks."),
    out: Path = typer.Option(None, "--out", help="Run folder (default: runs/tissue-<scenario name>)."),
    threads: int = typer.Option(None, "--threads", help="Threads for the Numba kernels (default: all cores)."),
    json_: bool = JSON_OPTION,
) -> None:
    """One organ's pre-metastatic niche as cells and diffusing exosomes, driven by the whole-body run.

    `exoniche tissue verify` checks the diffusion solver (point source, mass, thread identity).
    """
    if scenario == "verify":
        _verify(json_)
        return
    from exoniche.cli.tissue_run import run_tissue_command

    run_tissue_command(Path(scenario), out, threads, json_)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(tissue)
