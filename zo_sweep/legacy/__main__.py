"""`python -m zo_sweep.legacy`: see zo_sweep.legacy.cli."""

import sys

from zo_sweep.legacy.cli import main

sys.exit(main())
