"""Benchmarks of Yuanzhu (issue #10): end-to-end task throughput against the raw Temporal
baseline, inbox latency at up to a million task rows on SQLite and PostgreSQL, the quarterly
verification batch, open long-lived workflows and application intake. ``python -m bench``
(``make bench``; ``--full`` for the issue's sizes) writes ``bench/results/latest.json`` and
``bench/results/summary.md``. Benchmarks print figures; they never decide whether a suite
passes."""
