"""The Python examples of docs/architecture.md run as written (each block in a fresh namespace)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_its_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, capsys):
    from exoniche import engines

    registry = dict(engines._ENGINES)
    try:
        exec(compile(BLOCKS[index], f"docs/architecture.md[python block {index + 1}]", "exec"), {})
    finally:  # an example may register an engine; leave the registry as it was
        engines._ENGINES.clear()
        engines._ENGINES.update(registry)
    assert capsys.readouterr().out.strip(), "every example prints what it shows"
