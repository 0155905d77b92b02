"""`exoniche fit PROBLEM.yaml`, `exoniche fit llh PROBLEM.yaml`, `exoniche fit profile DIR` (PEtab calibration)."""

from __future__ import annotations

from pathlib import Path

import typer
import typer.core

from exoniche.cli._common import JSON_OPTION, console, err_console, print_json


class _FitGroup(typer.core.TyperGroup):
    """`exoniche fit X.yaml ...` runs the fit; `exoniche fit llh|profile ...` the named subcommand."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_FitGroup, no_args_is_help=True,
                  help="Fit PEtab problems: `fit PROBLEM.yaml --starts N --seed S [--workers K] [--out DIR] "
                       "[--json]` (options: `fit run --help`), `fit llh PROBLEM.yaml`, `fit profile DIR`.")


@app.command("run", hidden=True)
def run(
    problem: Path = typer.Argument(..., help="PEtab problem YAML (or a folder holding one)."),
    starts: int = typer.Option(20, "--starts", help="Number of local optimisations (Latin-hypercube starts)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the starts (same seed, same starts, same numbers)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (one start each at a time)."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/fit-<problem>); finished starts are kept."),
    engine: str = typer.Option("compiled", "--engine", help="compiled (Numba; one call per gradient) or "
                                                            "deterministic (SciPy, no JIT); `fit profile` reuses it."),
    json_: bool = JSON_OPTION,
) -> None:
    """Multi-start maximum-likelihood fit; writes starts, fit.json, waterfall.png and fit_<observable>.png."""
    from exoniche.calibration import fit as multistart_fit
    from exoniche.calibration.petab_problem import load
    from exoniche.io import calibration_plots

    prob = load(problem, engine=engine)
    out = out or Path("runs") / f"fit-{prob.yaml_path.stem}"
    summary = multistart_fit(prob, starts, seed, workers=workers, out=out)
    summary["figures"] = calibration_plots.fit_figures(prob, summary, out)
    if json_:
        print_json(summary)
        return
    console.print(f"{prob.yaml_path.name}: {summary['n_starts']} starts (seed {seed}, {summary['resumed_starts']} "
                  f"resumed), {summary['n_converged']} converged, {summary['n_reached_best']} within 0.1 of the best")
    gap = summary["best_nllh"] - summary["nominal_nllh"]
    what = "objective (nllh + prior)" if summary["objective"] != "nllh" else "nllh"
    console.print(f"best {what} {summary['best_nllh']:.6f}  nominal {summary['nominal_nllh']:.6f}  "
                  f"(best - nominal = {gap:+.4f}); {summary['wall_s']:.1f} s")
    for p in summary["parameters"]:
        console.print(f"  {p['id']:<28} {p['estimate']:.6g}  [{p['lower']:g}, {p['upper']:g}] {p['scale']}")
    console.print(f"wrote {out}")


@app.command()
def llh(
    problem: Path = typer.Argument(..., help="PEtab problem YAML (or a folder holding one)."),
    engine: str = typer.Option("compiled", "--engine", help="compiled (Numba) or deterministic (SciPy, no JIT)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Log-likelihood of the problem's measurements at the nominal parameters of its parameter table."""
    from exoniche.calibration.petab_problem import LLH_RTOL, load

    prob = load(problem, engine=engine)
    prob.rtol = LLH_RTOL
    nllh = float(prob.nllh(prob.nominal))
    result = {"llh": -nllh, "nllh": nllh, "n_measurements": prob.n_measurements}
    if json_:
        print_json(result)
        return
    for line in prob.lint:
        err_console.print(f"petablint {line}", highlight=False)
    console.print(f"{prob.yaml_path.name}: llh {-nllh:.10g}  nllh {nllh:.10g}  ({prob.n_measurements} measurements)")


@app.command()
def profile(
    run_dir: Path = typer.Argument(..., help="Run folder written by `exoniche fit`."),
    points: int = typer.Option(10, "--points", help="Profile points on each side of the best fit (at most)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Profile likelihoods of every estimated parameter around the best fit: 95 % CIs and identifiability."""
    from exoniche.calibration import profile_run
    from exoniche.io import calibration_plots

    report = profile_run(run_dir, points=points)
    report["figures"] = calibration_plots.profile_figures(report, run_dir)
    if json_:
        print_json(report)
        return
    console.print(f"profiles around best nllh {report['best_nllh']:.4f} (threshold +{report['threshold']:.3f}):")
    for p in report["parameters"]:
        lo, hi = p["ci_lower"], p["ci_upper"]
        ci = f"[{'-inf' if lo is None else f'{lo:.4g}'}, {'+inf' if hi is None else f'{hi:.4g}'}]"
        console.print(f"  {p['id']:<28} {p['estimate']:.4g}  95% CI {ci} ({p['scale']} scale): {p['class']}")
    console.print(f"wrote {run_dir / 'profiles.json'}")


def register(parent: typer.Typer) -> None:
    """Add the ``fit`` command group to ``parent``."""
    parent.add_typer(app, name="fit")
