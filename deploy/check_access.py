"""Whether the user running this can serve colorcore: ``deploy/run.sh`` runs it as the replicas' user first.

Prints one line per problem and exits 1, or exits 0: the app's packages must
import (Python, the checkout and its libraries readable), the files ``streamlit run`` reads and the
checkpoint catalog must be readable, and the folder of user checkpoints (where the Train page's
jobs and checkpoints go) must be writable.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: The checkout: on the import path first, as ``streamlit run streamlit_app.py`` puts its script's folder.
CHECKOUT = Path(__file__).resolve().parents[1]
#: What ``streamlit run streamlit_app.py`` reads from the checkout besides the package.
APP_FILES = ("streamlit_app.py", "explorer.py", ".streamlit/config.toml")


def problems() -> list[str]:
    """What this user cannot do that a replica needs; empty when it can serve."""
    try:
        import streamlit  # noqa: F401
        import torch  # noqa: F401

        import colorcore.app.api  # noqa: F401
        from colorcore.paths import catalog_dir, user_catalog_dir
    except Exception as err:  # noqa: BLE001 - whatever stops the import is the answer
        return [f"cannot import the app ({type(err).__name__}: {err})"]
    found = [f"cannot read {CHECKOUT / name}" for name in APP_FILES if not os.access(CHECKOUT / name, os.R_OK)]
    catalog = catalog_dir()
    if not os.access(catalog, os.R_OK | os.X_OK):
        found.append(f"cannot read the checkpoint catalog {catalog}")
    else:
        found += [f"cannot read {path}" for path in sorted(catalog.glob("*.safetensors")) if not os.access(path, os.R_OK)]
    user = user_catalog_dir()
    if not os.access(user, os.W_OK | os.X_OK):
        found.append(f"cannot write the folder of user checkpoints {user}")
    return found


def main() -> int:
    sys.path.insert(0, str(CHECKOUT))
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
