"""The edge with --tls-dir (the production overlay's edge-tls component):
Envoy serves HTTPS with the mounted certificate and no plain HTTP, and a
renewed certificate is served without a restart."""

from __future__ import annotations

import importlib.util
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.support.wait import eventually

REPO = Path(__file__).resolve().parents[2]


def _validate_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_validate_tls",
                                                  REPO / "tools/k8s/validate.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def tls_edge(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    tls = tmp_path / "tls"
    _validate_tool().self_signed(tls)
    port = _free_port()
    env = {"EDGE_PORT": str(port), "ENVOY_ADMIN_PORT": str(_free_port()),
           "INTERNAL_TOKEN": "tls-test-internal-token-0123456789abcdef",
           "PATH": os.environ.get("PATH", "/usr/bin")}
    out = tmp_path / "envoy" / "envoy.yaml"
    subprocess.run([sys.executable, "-m", "edge.render", str(out), "--assets-dir",
                    str(out.parent), "--tls-dir", str(tls)], check=True, cwd=REPO, env=env)
    envoy = subprocess.Popen([str(REPO / ".venv/bin/envoy"), "-c", str(out),
                              "--disable-hot-restart", "--log-level", "error"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port, tls
    finally:
        envoy.terminate()
        envoy.wait(10)


def _context(tls: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls / "tls.crt"))


async def _served(tls: Path, port: int, what: str) -> None:
    """Waits until /healthz answers over TLS, trusting only tls/tls.crt."""
    async with httpx.AsyncClient(verify=_context(tls), timeout=5) as client:

        async def serving() -> bool:
            return (await client.get(f"https://localhost:{port}/healthz")).status_code == 200
        await eventually(serving, within=15, every=0.1, what=what,
                         ignoring=(httpx.TransportError,))


async def test_the_edge_serves_https_only(tls_edge: tuple[int, Path]) -> None:
    port, tls = tls_edge
    await _served(tls, port, "Envoy serving TLS")
    async with httpx.AsyncClient(timeout=5) as plain:
        with pytest.raises(httpx.TransportError):
            await plain.get(f"http://127.0.0.1:{port}/healthz")


async def test_a_renewed_certificate_is_served_without_a_restart(
        tls_edge: tuple[int, Path]) -> None:
    port, tls = tls_edge
    await _served(tls, port, "Envoy serving TLS")
    # What the kubelet does on renewal: new files, swapped in atomically.
    renewed = tls.parent / "renewed"
    _validate_tool().self_signed(renewed)
    for name in ("tls.crt", "tls.key"):
        os.replace(renewed / name, tls / name)
    await _served(tls, port, "Envoy serving the renewed certificate")
