"""Calibration on PEtab problems (multi-start fits, profile likelihoods) and global sensitivity analysis.

Public modules: :mod:`.petab_problem` (load and evaluate a PEtab problem) and :mod:`.sensitivity` (Sobol/Morris
on a scenario). The fit and profile functions are re-exported here; their modules are private.
"""

from exoniche.calibration._fit import fit, latin_hypercube, optimise_start
from exoniche.calibration._profile import profile, profile_run
from exoniche.calibration.petab_problem import PetabProblem
from exoniche.calibration.sensitivity import scenario_sensitivity

__all__ = ["PetabProblem", "fit", "latin_hypercube", "optimise_start", "profile", "profile_run",
           "scenario_sensitivity"]
