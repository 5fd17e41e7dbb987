"""`make bench` says how the stack it measures runs (benchmarks/__main__.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import running_with


def test_the_header_names_production_sampling_when_the_stack_runs_with_it(
        tmp_path: Path) -> None:
    env = tmp_path / "stack.env"
    env.write_text("EDGE_TRACE_SAMPLING_PERCENT=1\nOTEL_TRACES_SAMPLER=parentbased_traceidratio\n"
                   "OTEL_TRACES_SAMPLER_ARG=0.01\nEVENT_LOOP=asyncio\nREDIS_URL=redis://x=y\n")
    assert running_with(env) == ("stack: edge traces 1% of requests, services "
                                 "parentbased_traceidratio 0.01, event loop asyncio")


def test_the_header_names_the_local_defaults(tmp_path: Path) -> None:
    (tmp_path / "stack.env").write_text("REDIS_URL=redis://127.0.0.1:16379/0\n")
    assert running_with(tmp_path / "stack.env") == (
        "stack: edge traces 100% of requests, services parentbased_always_on, event loop uvloop")
    assert running_with(tmp_path / "missing.env").startswith("stack: edge traces 100%")
