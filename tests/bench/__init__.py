"""The benchmark harness's own check (bench/): it still runs and writes its results."""
