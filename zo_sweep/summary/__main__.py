"""`python -m zo_sweep.summary`: see zo_sweep.summary.cli."""

import sys

from zo_sweep.summary.cli import main

sys.exit(main())
