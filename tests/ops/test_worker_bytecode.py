"""The worker keeps bytecode for the workflow modules even where Python is told to write none
(``PYTHONDONTWRITEBYTECODE``): the sandbox imports them afresh for every workflow instance,
and from source each import compiled them again (``worker.factory.compile_workflow_modules``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECK = """
import importlib.util, pathlib
import workflows
from worker.factory import compile_workflow_modules
sources = sorted(pathlib.Path(workflows.__file__).parent.glob("*.py"))
kept = lambda s: pathlib.Path(importlib.util.cache_from_source(str(s))).exists()
before = [s.name for s in sources if kept(s)]
assert compile_workflow_modules()
missing = [s.name for s in sources if not kept(s)]
print(len(sources), before, missing)
"""


def test_bytecode_for_every_workflow_module_although_python_writes_none(tmp_path: Path) -> None:
    # The bytecode goes under a prefix of this test's own, not into the shared source tree.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    count, lists = int(out[0]), out[1].strip()
    assert count >= 10
    assert lists == "[] []", "none there before, every module's after: " + lists
