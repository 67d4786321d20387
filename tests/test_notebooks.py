"""Every chapter notebook executes top to bottom, and was committed executed.

Each derivations/*/*.ipynb runs with nbclient on an in-memory copy (kernel python3, its own
folder as working directory, 120 s per cell) and must not raise; the committed file must have
every code cell executed with the outputs it produces, at least one image and at least one
ipywidgets control. The wall
time of each notebook is printed (``pytest -s tests/test_notebooks.py``). ``make notebooks``
re-executes them in place.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell

from tests import notebook_tools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("derivations/*/*.ipynb"))
FIXTURE = ROOT / "tests" / "fixtures" / "fixture_widget.ipynb"
CHAPTERS = 4


def test_every_chapter_has_a_notebook():
    chapters = sorted(p.name for p in ROOT.glob("derivations/0*") if p.is_dir())
    missing = [c for c in chapters if not (ROOT / "derivations" / c / f"{c}.ipynb").is_file()]
    assert len(NOTEBOOKS) >= CHAPTERS and not missing, f"found {len(NOTEBOOKS)} chapter notebooks, expected one per chapter; missing: {missing}"


# With no notebook at all the parameter is None and the test fails (an empty parametrization
# would only be skipped).
@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=lambda p: p.parent.name if p else "none")
def test_notebook_executes(path):
    assert path is not None, "no derivations/*/*.ipynb found"
    try:
        executed, seconds = notebook_tools.execute(path)
    except CellExecutionError as error:
        pytest.fail(f"{path.relative_to(ROOT)} fails when executed top to bottom:\n{error}", pytrace=False)
    print(f"\n{path.relative_to(ROOT)}: executed in {seconds:.1f} s")
    problems = notebook_tools.committed_problems(nbformat.read(path, as_version=4), executed)
    assert not problems, f"{path.relative_to(ROOT)} as committed: " + "; ".join(problems) + " (`make notebooks` re-executes them)"


def test_fixture_notebook_passes_both_checks():
    nb, seconds = notebook_tools.execute(FIXTURE)
    assert seconds < 60
    assert notebook_tools.committed_problems(nbformat.read(FIXTURE, as_version=4), nb) == []


def test_planted_failing_cell_is_reported(tmp_path):
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells.insert(2, new_code_cell("sine_with_tangent(a=undefined_name)"))
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "fixture_interactive.py").write_text((FIXTURE.parent / "fixture_interactive.py").read_text())
    with pytest.raises(CellExecutionError, match="undefined_name"):
        notebook_tools.execute(path)


def test_planted_uncommitted_notebooks_are_reported():
    nb = nbformat.read(FIXTURE, as_version=4)
    unexecuted = copy.deepcopy(nb)
    for cell in unexecuted.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    assert any("without their outputs" in p for p in notebook_tools.committed_problems(unexecuted))
    stale = copy.deepcopy(nb)  # executed once, then a cell edited and its output dropped
    stale.cells[2].outputs = []
    assert any("cells [2]" in p for p in notebook_tools.committed_problems(stale, nb))
    no_image = copy.deepcopy(nb)
    for cell in no_image.cells:
        if cell.cell_type == "code":
            for output in cell.outputs:
                output.get("data", {}).pop("image/png", None)
    assert any("no image" in p for p in notebook_tools.committed_problems(no_image))
    no_widget = copy.deepcopy(nb)
    no_widget.cells = [c for c in no_widget.cells if "Slider" not in c.source]
    assert any("ipywidgets" in p for p in notebook_tools.committed_problems(no_widget))
