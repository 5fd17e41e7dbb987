"""Each service's Redis keys belong to it: another service reaches them only
through the owner's client package (services/<owner>/client), so the import
arrows show who reads whose cache (docs/REDIS_KEYS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_services_import_other_services_only_through_their_client_packages() -> None:
    owners = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").is_file()} - {"shared"}
    wrong = []
    for path in SERVICES.rglob("*.py"):
        own = path.relative_to(SERVICES).parts[0]
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 2 and parts[0] == "services" and parts[1] in owners \
                    and parts[1] != own and parts[2] != "client":
                wrong.append(f"{path.relative_to(SERVICES)} imports {name}")
    assert not wrong, wrong


def test_no_redis_key_layout_of_a_service_is_left_in_shared() -> None:
    moved = ("tweet_cache", "tweet_views", "viewer_flags", "relations", "revocations")
    assert not [m for m in moved if (SERVICES / "shared" / f"{m}.py").exists()]
