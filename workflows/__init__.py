"""Durable Temporal workflows: one per case (identification), and the shared human-task helper.

Workflow modules import only contracts, domain rules and activity references; never the store,
the API or settings (the workflow sandbox and determinism forbid I/O and wall-clock reads).
"""
