"""The local stack's Envoy configuration, byte for byte, against a golden file,
and the Kubernetes pod's as the local one plus exactly the pod's options.

After an intended change (a new RPC, a new filter), rewrite the golden file and
review its diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_edge_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from edge import options, render

GOLDEN = Path(__file__).parent / "golden" / "envoy-local.yaml"
# What the local stack gives `python -m edge.render` (stack/programs.py edge()):
# the contract, the ports and the processes' own ports.
LOCAL_ENV = {
    "INTERNAL_TOKEN": "golden-internal-token-for-the-render-test",
    "USERS_PORT": "27101", "TWEETS_PORT": "27102", "TIMELINE_PORT": "27103",
    "SEARCH_PORT": "27104", "MEDIA_PORT": "27105", "MESSAGES_PORT": "27106",
    "RATELIMIT_PORT": "27107",
    "TWEETS_PROCESS_PORTS": "27112,27122", "TIMELINE_PROCESS_PORTS": "27113,27123",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:24317",
    "EDGE_TRACE_SAMPLING_PERCENT": "100",
    "EDGE_PORT": "28080", "ENVOY_ADMIN_PORT": "29901",
    "ENVOY_ACCESS_LOG": "/data/logs/envoy-access.log",
}


class _NoAliases(yaml.SafeDumper):
    """Shared values written out in full: anchors renumber on any change,
    which would bury a real difference in the golden file's diff."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(config: dict[str, Any]) -> str:
    # The repository's own path is the only machine-dependent part.
    text = yaml.dump(config, Dumper=_NoAliases, sort_keys=False)
    return text.replace(str(options.REPO), "@REPO@")


def test_the_local_configuration_matches_the_golden_file() -> None:
    text = _text(render.render(render.options_from_env(LOCAL_ENV)))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_a_pod_differs_from_the_local_stack_only_by_its_options(tmp_path: Path) -> None:
    local = render.options_from_env(LOCAL_ENV)
    pod = render.copy_assets(render.options_from_env(
        LOCAL_ENV, listen_address="0.0.0.0", drop_removed_hosts=True),
        tmp_path)
    config = render.render(pod)
    assert (tmp_path / "twitter.pb").read_bytes() == render.DESCRIPTOR.read_bytes()
    assert (tmp_path / "openapi.json").read_bytes() == render.OPENAPI.read_bytes()
    [edge, *_] = config["static_resources"]["listeners"]
    assert edge["address"]["socket_address"]["address"] == "0.0.0.0"
    assert all(c["ignore_health_on_host_removal"] for c in config["static_resources"]["clusters"])
    # Undo exactly those differences: what is left is the local configuration.
    edge["address"]["socket_address"]["address"] = "127.0.0.1"
    for c in config["static_resources"]["clusters"]:
        del c["ignore_health_on_host_removal"]
    text = yaml.safe_dump(config, sort_keys=False)
    text = text.replace(str(tmp_path / "twitter.pb"), str(local.descriptor))
    text = text.replace(str(tmp_path / "openapi.json"), str(local.openapi))
    assert text == yaml.safe_dump(render.render(local), sort_keys=False)
