"""The mixed workload benchmark (issue 12); `run` is the suite's entry point."""

from benchmarks.mixed.run import run

__all__ = ["run"]
