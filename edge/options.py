"""What the edge's Envoy configuration depends on, in one value.

edge/render.py builds the configuration from an `EdgeOptions` and nothing else
(no environment, no clock), so the local stack and a Kubernetes pod differ only
in the options they pass: where Envoy listens, where it finds the files it
reads at start, where the services are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edge import limits
from services.ratelimit.rules import Rules
from services.shared.ports import INFRA_PORTS, LOCALHOST, SERVICE_PORTS

REPO = Path(__file__).resolve().parent.parent
DESCRIPTOR = REPO / "generated" / "descriptors" / "twitter.pb"
OPENAPI = REPO / "generated" / "openapi" / "twitter.json"
LOCAL_INTERNAL_TOKEN = "local-internal-token"  # noqa: S105 - the local stack's default
# How long Envoy trusts a fetched JWKS; part of the key-rotation arithmetic in
# k8s/README.md ("Rotating the JWT signing key").
DEFAULT_JWKS_CACHE_SECONDS = 60

Endpoint = tuple[str, int]


@dataclass(frozen=True)
class EdgeOptions:
    """Everything the rendered configuration depends on.

    `descriptor` and `openapi` are the paths Envoy reads at start (the
    renderer itself reads the repository's copies, which have the same bytes).
    `upstreams` maps each cluster (a service area, `ratelimit` among them) to
    its endpoints; an area missing from it gets no cluster.
    """

    port: int
    admin_port: int
    upstreams: Mapping[str, tuple[Endpoint, ...]]
    rules: Rules
    listen_address: str = "127.0.0.1"
    access_log: str = "/dev/stdout"
    descriptor: Path = DESCRIPTOR
    openapi: Path = OPENAPI
    jwks_cache_seconds: int = DEFAULT_JWKS_CACHE_SECONDS
    # Kubernetes: forget a host as soon as it leaves DNS (its pod is
    # terminating) instead of after two failed health checks.
    drop_removed_hosts: bool = False
    # TLS on the edge listener: tls.crt and tls.key in this directory (a
    # mounted kubernetes.io/tls Secret), re-read when they change; None: plain.
    tls_dir: Path | None = None
    cors_origins: str = "*"
    max_request_bytes: int = 65536
    xff_trusted_hops: int = 0
    ratelimit_timeout_ms: int = 250
    internal_token: str = LOCAL_INTERNAL_TOKEN
    otlp: Endpoint | None = None
    service_name: str = "edge"
    trace_sampling_percent: float = 100.0
    metrics_port: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], areas: list[str], **overrides: object
                 ) -> EdgeOptions:
        """The options of `python -m edge.render`, from the same environment the
        services read (ports, <AREA>_ADDR, EDGE_* knobs; defaults in the
        module docstring of edge/render.py). `areas`: the clusters to make."""
        values: dict[str, object] = {
            "port": int(env.get("EDGE_PORT", INFRA_PORTS["EDGE_PORT"])),
            "admin_port": int(env.get("ENVOY_ADMIN_PORT", INFRA_PORTS["ENVOY_ADMIN_PORT"])),
            "upstreams": {area: addresses(env, area) for area in areas},
            "rules": limits.rules(dict(env)),
            "access_log": env.get("ENVOY_ACCESS_LOG") or "/dev/stdout",
            "jwks_cache_seconds": int(env.get("EDGE_JWKS_CACHE_SECONDS",
                                              str(DEFAULT_JWKS_CACHE_SECONDS))),
            "cors_origins": env.get("EDGE_CORS_ORIGINS", "*"),
            "max_request_bytes": int(env.get("EDGE_MAX_REQUEST_BYTES", "65536")),
            "xff_trusted_hops": int(env.get("EDGE_XFF_TRUSTED_HOPS", "0")),
            "ratelimit_timeout_ms": int(env.get("EDGE_RATELIMIT_TIMEOUT_MS", "250")),
            "internal_token": env.get("INTERNAL_TOKEN", LOCAL_INTERNAL_TOKEN),
            "otlp": otlp_address(env),
            "service_name": env.get("EDGE_SERVICE_NAME", "edge"),
            "trace_sampling_percent": float(env.get("EDGE_TRACE_SAMPLING_PERCENT", "100")),
            "metrics_port": int(env["ENVOY_METRICS_PORT"]) if env.get("ENVOY_METRICS_PORT")
            else None,
        }
        return cls(**(values | overrides))  # type: ignore[arg-type]


def addresses(env: Mapping[str, str], area: str) -> tuple[Endpoint, ...]:
    """Where a service listens: its address, or, when its processes each have a
    port of their own (<AREA>_PROCESS_PORTS, the local stack), every one of them,
    so that Envoy balances requests over the processes."""
    port = env.get(f"{area.upper()}_PORT") or SERVICE_PORTS.get(area, 0)
    value = env.get(f"{area.upper()}_ADDR") or f"{LOCALHOST}:{port}"
    host, _, port = value.rpartition(":")
    own = [int(p) for p in env.get(f"{area.upper()}_PROCESS_PORTS", "").split(",") if p]
    return tuple((host, p) for p in own) or ((host, int(port)),)


def otlp_address(env: Mapping[str, str]) -> Endpoint | None:
    """Where spans go (OTLP over gRPC), from OTEL_EXPORTER_OTLP_ENDPOINT as the
    services read it; None: no tracing at the edge."""
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return None
    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    return parts.hostname or "127.0.0.1", parts.port or 4317

