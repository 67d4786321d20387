"""Execute notebooks the way CI does, and check what a committed notebook must hold.

``python -m tests.notebook_tools NB.ipynb ...`` (``make notebooks``) re-executes each notebook
top to bottom in place, with its own folder as working directory, and saves the outputs.
"""

from __future__ import annotations

import re
import sys
import time
from queue import Empty
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELL_TIMEOUT = 120  # seconds per cell
POLL_S = 0.5  # the shell channel is polled in slices this long (see ShortPollClient)


def poll_in_slices() -> None:
    """Make every kernel-channel wait of this process a loop of short polls.

    A cell that creates widgets sometimes has its execute_reply noticed only when the wait
    for it ends (nbclient issue #312: the socket's wake-up is missed), so one wait of
    CELL_TIMEOUT seconds stalls that long, and a wait without a timeout (Voilà's) forever.
    Polls of POLL_S seconds each look at the socket again when they end: the stall is
    bounded by POLL_S and the overall timeout is kept. Used by ``execute`` and by the
    browser test's Voilà (tests/voila_app.py).
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "sliced", False):
        return
    get_msg = AsyncZMQSocketChannel.get_msg

    async def sliced_get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_S if deadline is None else min(POLL_S, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(self, timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    sliced_get_msg.sliced = True
    AsyncZMQSocketChannel.get_msg = sliced_get_msg
CONTROL = re.compile(r"\bwidgets\.(\w*Slider|Dropdown|SelectionSlider|ToggleButtons|RadioButtons)\b|\binteract(?:ive|_manual)?\b|ipywidgets\.(\w*Slider|Dropdown)")


def execute(path: Path, timeout: int = CELL_TIMEOUT):
    """Run a copy of the notebook (in memory) top to bottom; returns (notebook, seconds).

    Raises nbclient's CellExecutionError on the first cell that fails."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    poll_in_slices()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def committed_problems(nb, executed=None) -> list[str]:
    """What a committed notebook lacks: every code cell executed (and, given the freshly
    ``executed`` copy, the outputs each cell produces), an image, a widget control."""
    problems = []
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()]
    if not code:
        return ["no code cell"]
    unexecuted = [i for i in code if nb.cells[i].get("execution_count") is None]
    if executed is not None:
        unexecuted += [i for i in code if not nb.cells[i].get("outputs") and executed.cells[i].get("outputs") and i not in unexecuted]
    if unexecuted:
        problems.append(f"code cells without their outputs (execute top to bottom before committing): cells {sorted(unexecuted)}")
    errors = [i for i in code if any(o.get("output_type") == "error" for o in nb.cells[i].get("outputs", []))]
    if errors:
        problems.append(f"cells with an error output: {errors}")
    images = sum("image/png" in o.get("data", {}) for i in code for o in nb.cells[i].get("outputs", []))
    if not images:
        problems.append("no image output (display a figure so that GitHub shows it; a bare matplotlib Figure needs `%matplotlib inline` or pyplot imported for its PNG)")
    if not any(CONTROL.search(nb.cells[i].source) for i in code):
        problems.append("no ipywidgets control (a slider or a dropdown)")
    return problems


def main(argv=None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("no notebooks given", file=sys.stderr)
        return 1
    for path in paths:
        nb, seconds = execute(path)
        nbformat.write(nb, path)
        print(f"{path}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
