"""JWT key rotation in k8s: a new key may sign only once every verifier can
know it, or the edge answers 401 to valid tokens. The arithmetic of
k8s/README.md ("Rotating the JWT signing key"), checked on the shipped config."""

from __future__ import annotations

from pathlib import Path

from edge import options

K8S = Path(__file__).resolve().parents[2] / "k8s" / "base"
# Upper bound for a changed Secret to reach a pod's mounted files: the
# kubelet's sync period (1 min) plus its cache's propagation (up to 1 min).
SECRET_PROPAGATION_SECONDS = 120


def _env(name: str) -> dict[str, str]:
    lines = (K8S / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_a_new_key_signs_only_after_every_edge_has_fetched_it() -> None:
    config, edge = _env("config.env"), _env("edge.env")
    jwks_cache = int(edge.get("EDGE_JWKS_CACHE_SECONDS", options.DEFAULT_JWKS_CACHE_SECONDS))
    known_everywhere = (SECRET_PROPAGATION_SECONDS + float(config["AUTH_KEYS_RELOAD_SECONDS"])
                        + jwks_cache)
    # Twice the worst case: the kid's time is when the key was made, not when
    # the Secret was applied.
    assert float(config["AUTH_KEY_ACTIVATION_SECONDS"]) >= 2 * known_everywhere


def test_the_edge_default_cache_is_what_the_docs_say() -> None:
    assert options.DEFAULT_JWKS_CACHE_SECONDS == 60
    assert "JWKS cache 60 s" in (K8S.parent / "README.md").read_text()
