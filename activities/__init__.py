"""Temporal activities: all of the workflows' I/O (inbox rows, case projection and timeline,
deadline computation from the current holiday table). Classes take their dependencies in the
constructor so tests and the worker factory wire them explicitly."""
