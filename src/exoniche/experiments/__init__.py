"""Virtual experiments on the whole-body model: set-ups, scenario files, interventions, runs and comparisons.

The main entry points, also importable from :mod:`exoniche`::

    from exoniche import Experiment, Injection, load_scenario, run, simulate

- :class:`Experiment` (with :class:`Injection`, :class:`CellChallenge`): what is simulated, in Python.
- :func:`load_scenario` / :func:`loads_scenario`: a validated scenario TOML file (docs/scenarios.md).
- :func:`simulate`: one experiment, deterministic trajectories plus stochastic metastasis replicates.
- :func:`run`: every arm of a scenario; :func:`compare` / :func:`compare_scenarios`: arms side by side.
"""

from exoniche.experiments._compare import (
    ArmResult,
    Comparison,
    compare,
    compare_scenarios,
    km_curve,
    km_median,
    run,
    wilson,
)
from exoniche.experiments._simulate import Simulation, simulate
from exoniche.experiments.interventions import Intervention
from exoniche.experiments.scenario import Scenario, load_scenario, loads_scenario, parse_scenario
from exoniche.experiments.setup import CellChallenge, Experiment, Injection

__all__ = [
    "ArmResult", "CellChallenge", "Comparison", "Experiment", "Injection", "Intervention", "Scenario",
    "Simulation", "compare", "compare_scenarios", "km_curve", "km_median", "load_scenario", "loads_scenario",
    "parse_scenario", "run", "simulate", "wilson",
]  # fmt: skip
