"""tools/k8s/validate.py (run by `make lint`) catches what it claims to: a field
the schema does not know, a pod below "restricted", an Envoy config Envoy refuses."""

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
