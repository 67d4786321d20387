"""Voilà for the browser test, with the kernel-channel waits of tests/notebook_tools.py.

    python tests/voila_app.py NOTEBOOK [voila options]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.notebook_tools import poll_in_slices  # noqa: E402

poll_in_slices()

from voila.app import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
