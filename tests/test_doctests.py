"""The docstring examples of the package run and give what they show (``>>>`` blocks are part of the suite).

Modules are discovered from the source, so a new example is tested without editing this file.
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import exoniche

ROOT = Path(exoniche.__file__).parent


def _modules_with_examples() -> list[str]:
    names = ["exoniche"] + [m.name for m in pkgutil.walk_packages(exoniche.__path__, "exoniche.")]
    out = []
    for name in names:
        rel = name.split(".")[1:]
        folder = ROOT.joinpath(*rel)
        path = folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")
        if path.is_file() and ">>> " in path.read_text(encoding="utf-8"):
            out.append(name)
    return out


MODULES = _modules_with_examples()


def test_there_are_examples_to_run():
    assert {"exoniche.errors", "exoniche._ci", "exoniche.biomarkers._estimator"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name}: no example found by doctest"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (run pytest -s)"
