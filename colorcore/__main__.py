"""``python -m colorcore``: see :mod:`colorcore.cli`."""
import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # output piped into a reader that stopped early, e.g. ``| head``
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
