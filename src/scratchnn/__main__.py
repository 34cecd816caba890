"""``python -m scratchnn``: the command line (see :mod:`scratchnn.cli`)."""
from .cli import main

raise SystemExit(main())
