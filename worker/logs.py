"""Log lines for the long-running processes (``yuanzhu worker``, ``yuanzhu api``, the children
of ``yuanzhu up``): ``text`` for a person at a terminal, ``json`` for a log collector
(``YUANZHU_LOG_FORMAT``).

A JSON line is one object: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, then
whatever the code knows about the case: ``case_id``, ``task_id`` (passed with ``extra=``),
``workflow_id`` and ``activity`` (filled in from ``activity.info()`` inside an activity, or
from the Temporal SDK's own logger adapters), any other ``extra=`` field, and ``exc`` with the
traceback.

No resident ID number reaches a log in either format: the finished line, message, fields and
traceback alike (a database error quotes the parameters it failed on), goes through
:func:`mask_id_numbers`, which masks like :func:`domain.ids.mask_id_number`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

from temporalio import activity

from domain.ids import mask_id_number

LogFormat = Literal["text", "json"]

# An 18-character resident ID number (17 digits and a check character) or a legacy 15-digit
# one, not inside a longer run of letters or digits. ASCII only: `\d` would take full-width
# digits, and `\b` sees CJK characters as word characters, so "证号11010519491231002X"
# would escape it.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")

# LogRecord's own attributes: everything else on a record came in through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
# Set by libraries for their own formatters; nothing a reader of the JSON line needs.
_DROPPED = frozenset({"color_message", "temporal_log"})
# Placed first, in this order, so lines read alike whoever wrote them.
_CONTEXT = ("case_id", "task_id", "workflow_id", "activity")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Marks the handler configure_logging installed, to tell it from a test runner's.
_OURS = "yuanzhu_handler"


def mask_id_numbers(text: str) -> str:
    """Every ID number in ``text`` masked (``110***********002X``)."""
    return ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)


class TemporalContext(logging.Filter):
    """Adds ``workflow_id`` and ``activity`` to a record written inside an activity (by our
    code or a library), and flattens the ``temporal_activity`` / ``temporal_workflow``
    dictionaries the SDK's logger adapters attach."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = vars(record)
        for key in ("temporal_activity", "temporal_workflow"):
            info = fields.pop(key, None)
            if isinstance(info, dict):
                fields.setdefault("workflow_id", info.get("workflow_id"))
                if "activity_type" in info:
                    fields.setdefault("activity", info["activity_type"])
        if "workflow_id" not in fields and activity.in_activity():
            info = activity.info()
            fields["workflow_id"] = info.workflow_id
            fields.setdefault("activity", info.activity_type)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ID numbers masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES and key not in _DROPPED and value is not None
        }
        for key in _CONTEXT:
            if key in extra:
                line[key] = extra.pop(key)
        line.update(extra)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return mask_id_numbers(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """The plain format, with the case's ids appended when known; ID numbers masked."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = [f"{k}={getattr(record, k)}" for k in _CONTEXT if getattr(record, k, None)]
        if known:
            text = f"{text} [{' '.join(known)}]"
        return mask_id_numbers(text)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # under the handler's lock (Handler.handle)
        super().emit(record)


def log_handler(log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (default: the current stderr)."""
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.addFilter(TemporalContext())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(log_format: LogFormat) -> None:
    """The process's logging: one handler on the root logger in ``log_format`` (replacing the
    one an earlier call installed). Libraries log warnings and above; our own progress
    (``yuanzhu``) from INFO. Like ``logging.basicConfig``, it leaves a root logger that
    someone else (a test runner) has given handlers alone."""
    logging.getLogger("yuanzhu").setLevel(logging.INFO)
    root = logging.getLogger()
    if any(not getattr(h, _OURS, False) for h in root.handlers):
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = log_handler(log_format)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
