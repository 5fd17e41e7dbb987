"""grpcurl, through each running service's server reflection, can describe
every method of every service, not only the services (services/shared/
reflection.py; Python protobuf's pool alone answers "Symbol not found")."""

from __future__ import annotations

import subprocess

import pytest
from google.protobuf import descriptor_pb2

from edge.options import DESCRIPTOR
from stack import topology

pytestmark = pytest.mark.e2e


def methods_by_area() -> dict[str, list[str]]:
    """Area ("tweets") to the full names of its methods."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR.read_bytes())
    found: dict[str, list[str]] = {}
    for f in files.file:
        parts = f.package.split(".")
        if len(parts) == 3 and parts[0] == "twitter":
            for s in f.service:
                found.setdefault(parts[1], []).extend(
                    f"{f.package}.{s.name}.{m.name}" for m in s.method)
    return found


@pytest.mark.parametrize("area", sorted(methods_by_area()))
def test_grpcurl_describes_every_method(area: str, stack_env: dict[str, str]) -> None:
    grpcurl = topology.load().cache_dir / "bin" / "grpcurl"
    address = stack_env[f"{area.upper()}_ADDR"]
    for method in methods_by_area()[area]:
        run = subprocess.run([grpcurl, "-plaintext", address, "describe", method],
                             capture_output=True, text=True, timeout=30, check=False)
        assert run.returncode == 0, (method, run.stderr)
        assert f"{method} is a method:" in run.stdout, run.stdout
        assert f"rpc {method.rsplit('.', 1)[1]} (" in run.stdout, run.stdout
