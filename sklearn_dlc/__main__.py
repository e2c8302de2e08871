"""``python -m sklearn_dlc``: the command line (see :mod:`sklearn_dlc.demo`)."""

import sys

from .demo._cli import main

if __name__ == "__main__":
    sys.exit(main())
