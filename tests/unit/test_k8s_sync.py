"""Kustomize cannot read files outside k8s/, so the rate-limit rules are
copied there; this keeps the copy identical to edge/ratelimits.yaml."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_k8s_ratelimit_rules_match_the_edge() -> None:
    edge = yaml.safe_load((REPO / "edge" / "ratelimits.yaml").read_text())
    k8s = yaml.safe_load((REPO / "k8s" / "base" / "ratelimits.yaml").read_text())
    assert k8s == edge, "k8s/base/ratelimits.yaml differs: copy edge/ratelimits.yaml over it"
