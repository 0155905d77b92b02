"""Data flows one way (DESIGN.md §5): no module imports from a layer to its right; the figure is drawn from the code."""

import pkgutil

import exoniche
from exoniche.io import architecture as arch


def test_no_module_imports_from_a_layer_to_its_right():
    assert arch.violations() == []


def test_every_subpackage_has_a_layer():
    subpackages = {m.name for m in pkgutil.iter_modules(exoniche.__path__) if m.ispkg}
    placed = {s for _, members in arch.LAYERS for s in members}
    assert subpackages == placed


def test_a_backward_import_is_caught_with_file_and_line(tmp_path):
    (tmp_path / "biology").mkdir()
    (tmp_path / "biology" / "bad.py").write_text("import math\n\n\ndef f():\n    from exoniche.cli import app\n")
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "ok.py").write_text("from exoniche.biology import mechanism\n")
    expected = "exoniche/biology/bad.py:5 imports exoniche.cli (interfaces, right of biology)"
    assert arch.violations(tmp_path) == [expected]


def test_the_graph_has_the_known_flows():
    g = arch.import_graph()
    assert g.has_edge("experiments", "engines") and g.has_edge("engines", "biology")
    assert not g.has_edge("engines", "experiments")
    assert g.edges["cli", "biomarkers"]["weight"] > 1


def test_the_figure_is_drawn_from_the_graph(tmp_path):
    out = arch.draw_architecture(tmp_path / "architecture.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
