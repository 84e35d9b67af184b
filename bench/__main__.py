"""`make bench` / `python -m bench`: runs every benchmark and prints one table.

The benchmark code lives in importable modules (not here): multiprocessing's spawn
start method cannot find functions defined in a package's `__main__`.
"""

import sys

from bench.intake import main

sys.exit(main())
