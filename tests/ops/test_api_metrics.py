"""The API's Prometheus endpoint (inbox_api/metrics.py) scraped after real requests against the
whole system: counts per method, route template and status; the latency histogram; 4xx and 5xx
counted as errors; no id or raw path ever a label."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from tests.ops.scrape import delta, label_values, parse
from tests.reliability.report import tally

REQUESTS = "yuanzhu_http_requests_total"
ERRORS = "yuanzhu_http_request_errors_total"
LATENCY = "yuanzhu_http_request_duration_seconds"


async def test_requests_latencies_and_errors_by_route_template(system: Any) -> None:
    http = system.http
    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == CONTENT_TYPE_LATEST
    before = parse(r.text)

    headers = await system.login("wf_officer")
    for _ in range(2):
        assert (await http.get("/api/v1/tasks", headers=headers)).status_code == 200
    missing = await http.get("/api/v1/tasks/no-such-task-4711", headers=headers)
    assert missing.status_code == 404
    invalid = await http.post("/api/v1/applications", json={"facts": "not an object"})
    assert invalid.status_code == 422
    stray = await http.get("/no/such/page/4711")
    assert stray.status_code == 404

    after = parse((await http.get("/metrics")).text)
    tasks, task = "/api/v1/tasks", "/api/v1/tasks/{task_id}"
    assert delta(before, after, REQUESTS, method="GET", route=tasks, status="200") == 2
    assert delta(before, after, REQUESTS, method="GET", route=task, status="404") == 1
    assert delta(before, after, REQUESTS, method="POST", route="/api/v1/applications") == 1
    assert delta(before, after, REQUESTS, method="GET", route="unmatched", status="404") == 1
    # Errors: the 404 of a route, its 422, the unmatched path; never the 200s.
    assert delta(before, after, ERRORS, method="GET", route=task, status_class="4xx") == 1
    assert delta(before, after, ERRORS, route="/api/v1/applications", status_class="4xx") == 1
    assert delta(before, after, ERRORS, route="unmatched", status_class="4xx") == 1
    assert delta(before, after, ERRORS, route=tasks) == 0
    # The histogram observed both listings, with real (non-zero) time, in its buckets.
    labels = {"method": "GET", "route": tasks, "status_class": "2xx"}
    assert delta(before, after, f"{LATENCY}_count", **labels) == 2
    assert delta(before, after, f"{LATENCY}_sum", **labels) > 0
    assert delta(before, after, f"{LATENCY}_bucket", le="+Inf", **labels) == 2
    assert delta(before, after, f"{LATENCY}_bucket", le="60.0", **labels) == 2

    # Bounded labels: templates only, no id, no raw path.
    routes = label_values(after, "route")
    assert {tasks, task, "/api/v1/applications", "unmatched", "/metrics"} <= routes
    assert not any("4711" in route or "no-such" in route for route in routes)
    assert all(route == "unmatched" or route.startswith("/") for route in routes)


async def test_an_unknown_method_is_one_label(system: Any) -> None:
    """A made-up method cannot add a label value per request."""
    before = parse((await system.http.get("/metrics")).text)
    r = await system.http.request("BREW", "/api/v1/tasks")
    assert r.status_code == 405
    after = parse((await system.http.get("/metrics")).text)
    # No route takes it, so it is also "unmatched" rather than the path.
    assert delta(before, after, REQUESTS, method="OTHER", route="unmatched", status="405") == 1
    assert "BREW" not in label_values(after, "method")


async def test_a_metrics_token_keeps_the_counts_to_the_scraper(system: Any) -> None:
    """With ``YUANZHU_METRICS_TOKEN`` set, /metrics answers only the scraper that sends it."""
    app = system.http._transport.app
    open_settings = app.state.settings
    app.state.settings = open_settings.model_copy(update={"metrics_token": "scrape-7f3a9c"})
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-7f3a9c"}):
            r = await system.http.get("/metrics", headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert REQUESTS not in r.text
            tally("security", "metrics scrapes refused without the metrics token", 1)
        r = await system.http.get("/metrics", headers={"Authorization": "Bearer scrape-7f3a9c"})
        assert r.status_code == 200 and REQUESTS in r.text
    finally:
        app.state.settings = open_settings
    assert (await system.http.get("/metrics")).status_code == 200  # unset: open again
