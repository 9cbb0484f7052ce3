"""``python -m colorcore``: see :mod:`colorcore.cli`."""
import sys

from .cli import main

sys.exit(main())
