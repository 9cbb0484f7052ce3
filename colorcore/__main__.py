"""``python -m colorcore``: see :mod:`colorcore.cli`."""
from .cli import run

run()
