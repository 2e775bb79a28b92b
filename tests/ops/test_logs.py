"""Log lines (worker/logs.py): JSON objects with the case's ids, the plain format, and resident
ID numbers masked wherever they appear (message, fields, traceback), in both formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from domain.ids import mask_id_number
from infra.metrics import task_opened
from worker.logs import configure_logging, log_handler, mask_id_numbers

# Shaped like ID numbers (valid or not: a mistyped number is still a person's), and a legacy
# 15-digit one.
ID_X = "11010519491231002X"
ID_DIGIT = "440524188001010014"
LEGACY = "370702800101001"


def emit(log_format: str, fn: object) -> list[str]:
    """The lines ``fn(logger)`` writes through a ``log_format`` handler."""
    buffer = io.StringIO()
    logger = logging.getLogger(f"yuanzhu.test.logs.{log_format}")
    handler = log_handler(log_format, buffer)  # type: ignore[arg-type]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        fn(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return buffer.getvalue().splitlines()


def test_json_line_has_the_fields_and_the_case_ids() -> None:
    [line] = emit(
        "json",
        lambda log: log.info(
            "task %s opened", "acceptance", extra={"case_id": "YZ20261130-ABCD2345", "n": 3}
        ),
    )
    record = json.loads(line)
    assert list(record)[:5] == ["time", "level", "logger", "message", "case_id"]
    assert record["level"] == "INFO" and record["logger"] == "yuanzhu.test.logs.json"
    assert record["message"] == "task acceptance opened"
    assert record["case_id"] == "YZ20261130-ABCD2345" and record["n"] == 3
    assert record["time"].endswith("+00:00") and "T" in record["time"]
    assert "workflow_id" not in record  # outside an activity nothing is made up


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_id_numbers_are_masked_in_message_fields_and_traceback(log_format: str) -> None:
    def write(log: logging.Logger) -> None:
        log.warning("申请人身份证号%s重复（%s）", ID_X, LEGACY, extra={"id_number": ID_DIGIT})
        try:
            raise ValueError(f"duplicate key (id_number)=({ID_DIGIT})")
        except ValueError:
            log.exception("insert failed for %s", ID_X.lower())

    text = "\n".join(emit(log_format, write))
    for raw in (ID_X, ID_X.lower(), ID_DIGIT, LEGACY):
        assert raw not in text
    assert mask_id_number(ID_X) in text  # 110***********002X: the rule of domain/ids.py
    assert "440***********0014" in text
    assert "*" * 15 in text  # a legacy number is masked whole
    assert "ValueError: duplicate key (id_number)=(440***********0014)" in text
    if log_format == "json":
        first, second = (json.loads(line) for line in text.splitlines()[:2])
        assert first["id_number"] == "440***********0014"
        assert "Traceback" in second["exc"]


def test_masking_leaves_other_numbers_alone() -> None:
    untouched = [
        "YZ20261130-ABCD2345",
        "13812345678",  # a mobile number (masked where shown, but not an ID number)
        "identification-YZ20261130-ABCD2345.acceptance.1",
        "1764500000123456789",  # 19 digits: a nanosecond timestamp, not an ID number
        "A11010519491231002X",  # inside a longer code
    ]
    for text in untouched:
        assert mask_id_numbers(text) == text
    assert mask_id_numbers(f"证号{ID_X}，") == f"证号{mask_id_number(ID_X)}，"


def test_text_line_names_the_case_ids() -> None:
    [line] = emit("text", lambda log: log.info("opened", extra={"task_id": "t.1"}))
    assert line.endswith(" INFO yuanzhu.test.logs.text opened [task_id=t.1]")


def test_our_counters_outside_an_activity_only_log() -> None:
    """A CLI command calling an activity class directly: nothing counted, the line written."""
    buffer = io.StringIO()
    logger = logging.getLogger("yuanzhu.tasks")
    handler = log_handler("json", buffer)
    logger.addHandler(handler)
    level = logger.level
    # setLevel, not an assignment: it clears the loggers' cached answers to isEnabledFor, which
    # an earlier test in this process may have left at "INFO: no" (CI once saw no line).
    logger.setLevel(logging.INFO)
    try:
        task_opened("acceptance", case_id="C-1", task_id="C-1.acceptance.1")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    record = json.loads(buffer.getvalue())
    assert (record["case_id"], record["task_id"]) == ("C-1", "C-1.acceptance.1")
    assert "activity" not in record


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without the test runner's handlers (added around the test's call, so
    removed inside it), restored afterwards."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for handler in saved:
        root.removeHandler(handler)
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def test_configure_logging_replaces_its_own_handler(capsys: pytest.CaptureFixture[str]) -> None:
    with bare_root() as root:
        configure_logging("text")
        configure_logging("json")  # `yuanzhu worker` after the group's default
        assert len(root.handlers) == 1
        logging.getLogger("yuanzhu").info("worker stopped")
        logging.getLogger("sqlalchemy").info("not shown: libraries from WARNING")
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "worker stopped"


def test_configure_logging_leaves_a_test_runners_handlers_alone() -> None:
    with bare_root() as root:
        theirs = logging.NullHandler()
        root.addHandler(theirs)
        configure_logging("json")
        assert root.handlers == [theirs]
