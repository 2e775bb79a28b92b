"""Pure, deterministic rules shared by the workflows, the API and the CLI.

Standard library and pydantic only: no clock (callers pass ``now``/``on``), no I/O beyond
reading this package's own data files, so every module here is safe inside the Temporal
workflow sandbox.
"""
