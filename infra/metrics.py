"""The worker's Prometheus metrics: the Temporal SDK's own (``temporal_*``: workflow and activity
executions, latencies, polls, slots) and ours (``yuanzhu_*``: tasks opened and closed, SLA
breaches, escalations), all served by the SDK's Prometheus endpoint at
``http://<bind_host>:<worker_metrics_port>/metrics`` — one port per worker process.

Ours are recorded through the running activity's metric meter (:func:`activity.metric_meter`),
so they land in the same registry as the SDK's, labelled by ``namespace``, ``task_queue`` and
``activity_type`` besides our own labels (task kind, state, event, level: small fixed sets,
never an id). Outside an activity (a CLI command calling an activity class directly) they are
not counted. Each event is also one INFO log line on ``yuanzhu.tasks`` with the case and task
ids, so a count on a dashboard can be followed to the cases behind it.

The activities call these functions after their transaction committed and only for rows they
actually wrote, so a retried or replayed activity does not count twice.
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from store.settings import Settings

# The worker's metrics port under `yuanzhu up` when YUANZHU_WORKER_METRICS_PORT is unset
# (9464 is the port commonly used by Prometheus exporters of OpenTelemetry SDKs).
UP_WORKER_METRICS_PORT = 9464

log = logging.getLogger("yuanzhu.tasks")


def worker_metrics_address(settings: Settings) -> str | None:
    """``host:port`` of the worker's metrics endpoint, or None when off (port unset or 0)."""
    if not settings.worker_metrics_port:
        return None
    return f"{settings.bind_host}:{settings.worker_metrics_port}"


def worker_runtime(metrics_address: str | None) -> Runtime:
    """A Temporal runtime whose Prometheus endpoint (when ``metrics_address`` is given) serves
    the SDK's metrics and ours, and whose Core logs go through Python logging (so they come out
    in the process's log format, JSON included). ``yuanzhu worker`` connects its client on it
    and shuts it down before it exits (worker/run.py), so it is not the process's default."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=(
                PrometheusConfig(
                    bind_address=metrics_address,
                    # Prometheus conventions: counters end in _total, durations in seconds.
                    counters_total_suffix=True,
                    durations_as_seconds=True,
                )
                if metrics_address
                else None
            ),
        )
    )


def _meter() -> MetricMeter:
    if activity.in_activity():
        return activity.metric_meter()
    return MetricMeter.noop


def task_opened(kind: str, count: int = 1, **ids: str | None) -> None:
    """``count`` new tasks of ``kind`` in the inbox."""
    _meter().create_counter("yuanzhu_tasks_opened", "Human tasks opened").add(count, {"kind": kind})
    log.info("%s %s task(s) opened", count, kind, extra=ids)


def task_closed(kind: str, state: str, **ids: str | None) -> None:
    """A task left the inbox: ``state`` completed, cancelled, ..."""
    _meter().create_counter("yuanzhu_tasks_closed", "Human tasks closed, by final state").add(
        1, {"kind": kind, "state": state}
    )
    log.info("%s task %s", kind, state, extra=ids)


def sla_breached(kind: str, event: str, **ids: str | None) -> None:
    """A breach recorded on a clock: ``kind`` is the task kind (or ``identification_deadline``
    for the case's deadline), ``event`` breached or past_deadline."""
    _meter().create_counter("yuanzhu_sla_breaches", "SLA breaches recorded").add(
        1, {"kind": kind, "event": event}
    )
    log.warning("%s clock %s", kind, event, extra=ids)


def escalated(kind: str, level: int, **ids: str | None) -> None:
    """An escalation (督办) to the supervisors of the ``level``-th office up the tree."""
    _meter().create_counter("yuanzhu_escalations", "Escalations to supervisors (督办)").add(
        1, {"kind": kind, "level": str(level)}
    )
    log.warning("%s escalated to level %s", kind, level, extra=ids)
