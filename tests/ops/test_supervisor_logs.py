"""`yuanzhu up`'s supervisor starts its children with their output in a log file, and closes
its own handle of that file at once: the child writes to its own copy. (It used to leave its
handle to the garbage collector, which warned "unclosed file" at every start and restart.)"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from pathlib import Path

import pytest

from worker.supervisor import Child


def test_starting_a_child_leaves_no_file_of_its_own_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "child.log"
    child = Child("echo", [sys.executable, "-c", "print('started')"], log, dict(os.environ))
    # A file closed by the collector warns from its finaliser, where nothing can raise: the
    # warning, made an error, reaches the unraisable hook.
    unclosed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unclosed.append(u.exc_value))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for _ in range(3):
            child.start()
            assert child.proc is not None and child.proc.wait(30) == 0
            gc.collect()
    assert unclosed == []
    assert log.read_text().count("started") == 3  # every start appended to the same log
