"""The composition root: builds the Temporal worker from a client and settings, runs the
processes (`yuanzhu up`, `yuanzhu worker`, `yuanzhu api`) and hosts the `yuanzhu` CLI."""
