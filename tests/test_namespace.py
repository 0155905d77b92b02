"""The public API: every name in every ``__all__`` imports, and no public name shadows a submodule.

Packages and their ``__all__`` are discovered by walking the installed package, so a new subpackage is
checked without editing this file.
"""

import importlib
import pkgutil
import types

import pytest

import exoniche

PACKAGES = ["exoniche"] + sorted(m.name for m in pkgutil.walk_packages(exoniche.__path__, "exoniche.") if m.ispkg)


def _public(name: str) -> list[str]:
    return list(getattr(importlib.import_module(name), "__all__", []))


def test_every_package_declares_its_public_api():
    missing = [p for p in PACKAGES if not hasattr(importlib.import_module(p), "__all__")
               and not p.startswith("exoniche.engines")]  # engines: issue 9, item 1 (its own branch)
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_imports(package):
    pkg = importlib.import_module(package)
    names = _public(package)
    assert len(names) == len(set(names)), f"{package}.__all__ lists a name twice"
    for name in names:
        try:  # what `from package import name` does: an attribute, else a submodule
            obj = getattr(pkg, name)
        except AttributeError:
            obj = importlib.import_module(f"{package}.{name}")
        assert obj is not None, f"{package}.{name}"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_public_function_shadows_its_own_module(package):
    """``exoniche.biomarkers.roc`` is one thing: a function with a private ``_roc`` module, not both."""
    pkg = importlib.import_module(package)
    shadowed = []
    for sub in pkgutil.iter_modules(pkg.__path__):
        obj = getattr(pkg, sub.name, None)
        if obj is not None and not isinstance(obj, types.ModuleType):
            shadowed.append(sub.name)
    assert sorted(shadowed) == []


def test_the_experiment_api_is_at_top_level():
    from exoniche import Experiment, Injection, load_scenario, run, simulate
    from exoniche.experiments import setup

    assert Experiment is setup.Experiment and Injection is setup.Injection
    assert callable(load_scenario) and callable(run) and callable(simulate)
    assert {"Experiment", "Injection", "load_scenario", "run", "simulate"} <= set(dir(exoniche))
    with pytest.raises(AttributeError, match="no_such_name"):
        exoniche.no_such_name  # noqa: B018
