"""`exoniche sensitivity SCENARIO.toml --method sobol|morris --n N --params a,b --outputs x,y` (SALib)."""

from __future__ import annotations

from pathlib import Path

import typer

from exoniche.cli._common import JSON_OPTION, console, print_json


def sensitivity(
    scenario: Path = typer.Argument(..., help="Scenario TOML file; its base experiment is analysed."),
    method: str = typer.Option("sobol", "--method", help="sobol (Saltelli sampling) or morris."),
    n: int = typer.Option(256, "--n",
                          help="Base sample size N (Sobol: N(k+2) runs, N(2k+2) with S2; Morris: N(k+1))."),
    params: str = typer.Option(..., "--params", help="Comma-separated parameters; name=lo:hi for a range."),
    outputs: str = typer.Option("lung_metastases,lung_niche", "--outputs", help="Comma-separated outputs."),
    second_order: bool = typer.Option(False, "--second-order", help="Also S2 (Sobol)."),
    spread: float = typer.Option(2.0, "--spread", help="Log-uniform over [value/spread, value*spread]."),
    seed: int = typer.Option(1, "--seed", help="Sampling and bootstrap seed."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (one chunk of runs each)."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/sensitivity-<scenario>)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Global sensitivity of scenario outputs (Sobol S1/ST with bootstrap 95 % CIs, or Morris), resumable."""
    from exoniche.calibration.sensitivity import scenario_sensitivity
    from exoniche.io.calibration_plots import sensitivity_figure

    out = out or Path("runs") / f"sensitivity-{scenario.stem}"
    res = scenario_sensitivity(scenario, method, n, [p.strip() for p in params.split(",") if p.strip()],
                               [o.strip() for o in outputs.split(",") if o.strip()], seed=seed,
                               second_order=second_order, spread=spread, workers=workers, out=out)
    res["figure"] = str(sensitivity_figure(res, out / "indices.png"))
    if json_:
        print_json(res)
        return
    console.print(f"{method} on {scenario.name}: {res['n_runs']} runs ({res['chunks_resumed']} chunks resumed), "
                  f"{res['wall_s']:.1f} s")
    for o in res["outputs"]:
        idx = res["indices"][o]
        console.print(f"[bold]{o}[/]")
        for p in res["params"]:
            if method == "sobol":
                console.print(f"  {p:<34} S1 {idx['S1'][p]:+.3f} ± {idx['S1_conf'][p]:.3f}   "
                              f"ST {idx['ST'][p]:+.3f} ± {idx['ST_conf'][p]:.3f}")
            else:
                console.print(f"  {p:<34} mu* {idx['mu_star'][p]:.4g} ± {idx['mu_star_conf'][p]:.2g}   "
                              f"sigma {idx['sigma'][p]:.4g}")
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(sensitivity)
