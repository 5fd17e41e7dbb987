"""tools/k8s/validate.py (run by `make lint`) catches what it claims to: a field
the schema does not know, a pod below "restricted", an Envoy config Envoy refuses,
migrations run by the local stack's CLI instead of the production package."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("k8s_validate", REPO / "tools/k8s/validate.py")
assert _spec
assert _spec.loader
validate = importlib.util.module_from_spec(_spec)
sys.modules["k8s_validate"] = validate
_spec.loader.exec_module(validate)


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = validate.build(REPO / "k8s" / "overlays" / "production",
                                                  validate.kustomize())
    return docs


def _deployment(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"
                              and d["metadata"]["name"] == name))


def test_every_kustomization_is_valid() -> None:
    assert validate.main(["validate"]) == 0


def test_an_unknown_field_is_refused(production: list[dict[str, Any]]) -> None:
    users = _deployment(production, "users")
    assert list(validate.schema_errors(users)) == []
    users["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert list(validate.schema_errors(users))


def test_a_pod_below_restricted_is_refused(production: list[dict[str, Any]]) -> None:
    edge = _deployment(production, "edge")
    assert list(validate.pod_security_violations(edge)) == []
    edge["spec"]["template"]["spec"]["initContainers"][0]["securityContext"][
        "allowPrivilegeEscalation"] = True
    edge["spec"]["template"]["spec"]["volumes"].append({"name": "h", "hostPath": {"path": "/"}})
    found = list(validate.pod_security_violations(edge))
    assert any("allowPrivilegeEscalation" in v for v in found)
    assert any("hostPath" in v for v in found)


def test_a_config_envoy_refuses_is_reported(production: list[dict[str, Any]]) -> None:
    docs = copy.deepcopy(production)
    edge_config = next(d for d in docs if d["metadata"]["name"].startswith("edge-config-"))
    assert list(validate.envoy_errors(docs)) == []
    edge_config["data"]["EDGE_RATELIMIT_TIMEOUT_MS"] = "-5"  # a negative timeout
    assert any("envoy --mode validate" in e for e in validate.envoy_errors(docs))


def test_migrations_run_from_the_production_package(production: list[dict[str, Any]]) -> None:
    [job] = [d for d in production if d["kind"] == "Job"
             and d["metadata"]["name"].startswith("migrate-")]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "services.migrations"]
    users = _deployment(production, "users")
    [wait] = [c for c in users["spec"]["template"]["spec"]["initContainers"]
              if c["name"] == "wait-for-schema"]
    assert wait["command"][:5] == ["python", "-m", "services.migrations", "--wait-for",
                                   "$(SCHEMA_OF)"]
    assert list(validate.migration_errors(production)) == []


def test_migrations_run_by_the_stack_cli_are_refused(production: list[dict[str, Any]]) -> None:
    docs = copy.deepcopy(production)
    job = next(d for d in docs if d["kind"] == "Job")
    job["spec"]["template"]["spec"]["containers"][0]["command"] = [
        "python", "-m", "stack", "migrate"]
    tweets = next(d for d in docs if d["kind"] == "Deployment"
                  and d["metadata"]["name"] == "tweets")
    [wait] = [c for c in tweets["spec"]["template"]["spec"]["initContainers"]
              if c["name"] == "wait-for-schema"]
    wait["command"] = ["python", "-m", "stack", "migrate", "--wait-for", "tweets"]
    found = list(validate.migration_errors(docs))
    assert any(e.startswith("Job/migrate-") for e in found)
    assert any(e.startswith("Deployment/tweets: container wait-for-schema") for e in found)


def test_the_rate_limits_are_built_from_the_edges_file(production: list[dict[str, Any]]) -> None:
    # One source: k8s has no copy of edge/ratelimits.yaml (edge/kustomization.yaml).
    assert not (REPO / "k8s" / "base" / "ratelimits.yaml").exists()
    [rules] = [d for d in production if d["kind"] == "ConfigMap"
               and d["metadata"]["name"].startswith("ratelimit-rules-")]
    assert rules["data"] == {"ratelimits.yaml": (REPO / "edge" / "ratelimits.yaml").read_text()}
    ratelimit = _deployment(production, "ratelimit")
    mounted = {v["configMap"]["name"] for v in ratelimit["spec"]["template"]["spec"]["volumes"]
               if "configMap" in v}
    assert rules["metadata"]["name"] in mounted
