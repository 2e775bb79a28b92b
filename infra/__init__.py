"""Infrastructure every floor above may lean on, and which leans on nothing of ours but the
settings: the Temporal client and its data converter, tracing, and the worker's metrics."""
