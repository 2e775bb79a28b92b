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

import hmac
import logging
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class MetricsGate:
    """The worker's metrics behind the metrics token (``YUANZHU_METRICS_TOKEN``).

    The SDK's Prometheus exporter (Rust, in the Temporal runtime) cannot check a token. With a
    token set, the exporter listens on a loopback port of its own, and this small HTTP server
    takes the public metrics port: a scrape carrying ``Authorization: Bearer <token>`` gets the
    exporter's answer, anything else 401 (the token compared in constant time). One thread;
    :meth:`close` stops it before the worker lets go of its runtime."""

    def __init__(self, host: str, port: int, token: str) -> None:
        with socket.socket() as probe:  # a free loopback port for the exporter
            probe.bind(("127.0.0.1", 0))
            self.internal_address = f"127.0.0.1:{probe.getsockname()[1]}"
        gate = self
        self._token = token.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                scheme, _, given = self.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(
                    given.encode(), gate._token
                ):
                    self._answer(401, b'{"title":"Not authenticated","status":401}', _PROBLEM)
                    return
                try:
                    with urllib.request.urlopen(
                        f"http://{gate.internal_address}{self.path}", timeout=10
                    ) as upstream:
                        body = upstream.read()
                        kind = upstream.headers.get("Content-Type", "text/plain")
                except OSError:
                    self._answer(503, b'{"title":"Metrics unavailable","status":503}', _PROBLEM)
                    return
                self._answer(200, body, kind)

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", "Bearer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes are not worth a log line each

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-gate", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


_PROBLEM = "application/problem+json"
