"""supervisord's own environment, which every program it starts inherits."""

from __future__ import annotations

from stack.contract import PASSTHROUGH
from stack.supervisor import daemon_environment


def test_variables_passed_on_only_when_set_are_not_inherited_from_the_first_up() -> None:
    # `make bench` exports these; a later `make up` without them must not
    # leave every program with the first up's values.
    environ = {"PATH": "/usr/bin", "HOME": "/root", **{key: "1" for key in PASSTHROUGH}}
    assert daemon_environment(environ) == {"PATH": "/usr/bin", "HOME": "/root"}
    assert {"OTEL_TRACES_SAMPLER_ARG", "EDGE_TRACE_SAMPLING_PERCENT"} <= set(PASSTHROUGH)
