import os
import sys

from zo_sweep.bench.cli import main

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.exit(main())
