"""Offline checks of every kustomization under k8s/ (run by `make lint`):

1. it builds with the pinned kustomize (tools/k8s/install_kustomize.sh);
2. every object validates strictly (no unknown fields) against the Kubernetes
   schemas the kubernetes-validate wheel ships, for KUBERNETES_VERSION; kinds
   of CRDs (Prometheus Operator, ...) have no schema there and are listed;
3. every pod template meets the "restricted" Pod Security Standard;
4. the edge's Envoy configuration, rendered as the edge pod's initContainer
   renders it from that overlay's ConfigMaps, passes `envoy --mode validate`;
5. the migrations run from the production package (services/migrations), not
   the local stack's CLI.

    .venv/bin/python tools/k8s/validate.py [KUSTOMIZATION_DIR ...]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.35.0"
ENVOY = REPO / ".venv" / "bin" / "envoy"
CACHE_BIN = Path(os.environ.get("TWITTER_CACHE") or Path.home() / ".cache" / "twitter-mesh") / "bin"
# Custom resources: no schema in the wheel (validated by `make k8s-apiserver-check`
# against their CRDs' presence only).
CUSTOM_KINDS = {"PodMonitor", "PrometheusRule", "ServiceMonitor", "ScaledObject",
                "Certificate", "ScyllaCluster", "Cluster", "ScheduledBackup"}


def kustomizations() -> list[Path]:
    return [REPO / "k8s" / "namespace", REPO / "k8s" / "datastores",
            REPO / "k8s" / "datastores-plain", *sorted((REPO / "k8s" / "overlays").iterdir())]


def kustomize() -> Path:
    """The pinned kustomize, built from the Go module proxy on first use."""
    subprocess.run([REPO / "tools" / "k8s" / "install_kustomize.sh"], check=True)  # noqa: S603
    return CACHE_BIN / "kustomize"


def build(directory: Path, kustomize: Path) -> list[dict[str, Any]]:
    out = subprocess.run([kustomize, "build", str(directory)], check=True,  # noqa: S603
                         capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def schema_errors(doc: dict[str, Any]) -> Iterator[str]:
    if doc["kind"] in CUSTOM_KINDS:
        return
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        yield f"{exc.message} at {'.'.join(map(str, exc.path))}"
    except kubernetes_validate.SchemaNotFoundError:
        yield f"no schema for {doc['apiVersion']} {doc['kind']} in Kubernetes {KUBERNETES_VERSION}"


POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] == "Pod":
        holder = doc
    elif doc["kind"] == "CronJob":
        holder = doc["spec"]["jobTemplate"]["spec"]["template"]
    elif doc["kind"] in POD_TEMPLATE_KINDS:
        holder = doc["spec"]["template"]
    else:
        return None
    spec: dict[str, Any] = holder.get("spec", {})
    return spec


def _container_violations(c: dict[str, Any], pod: dict[str, Any]) -> Iterator[str]:
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
    name = c["name"]
    if sc.get("privileged"):
        yield f"{name}: privileged"
    if sc.get("allowPrivilegeEscalation") is not False:
        yield f"{name}: allowPrivilegeEscalation must be false"
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        yield f"{name}: capabilities must drop ALL"
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        yield f"{name}: adds capabilities {caps['add']}"
    if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
        yield f"{name}: runAsNonRoot must be true"
    if sc.get("runAsUser", psc.get("runAsUser")) == 0:
        yield f"{name}: runAsUser 0"
    seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
    if seccomp not in SECCOMP_OK:
        yield f"{name}: seccompProfile must be RuntimeDefault or Localhost"
    if any(p.get("hostPort") for p in c.get("ports", [])):
        yield f"{name}: hostPort"


def pod_security_violations(doc: dict[str, Any]) -> Iterator[str]:
    """The "restricted" Pod Security Standard (its policies that manifests can break)."""
    pod = pod_spec(doc)
    if pod is None:
        return
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            yield key
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume['name']}: {sorted(kinds)} not allowed"
    for c in pod.get("initContainers", []) + pod.get("containers", []):
        yield from _container_violations(c, pod)


def _config_map(docs: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    [found] = [d for d in docs if d["kind"] == "ConfigMap"
               and d["metadata"]["name"].startswith(prefix)]
    data: dict[str, str] = found.get("data", {})
    return data


def self_signed(directory: Path) -> None:
    """A throwaway tls.crt/tls.key, standing in for the edge's Secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _render_command(docs: list[dict[str, Any]]) -> list[str] | None:
    """The edge initContainer's command, or None without an edge."""
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "edge":
            [render] = [c for c in d["spec"]["template"]["spec"]["initContainers"]
                        if c["name"] == "render"]
            command: list[str] = render["command"]
            return command
    return None


def envoy_errors(docs: list[dict[str, Any]]) -> Iterator[str]:
    """The initContainer's own command, with the overlay's ConfigMaps as env
    and its mounts (/etc/envoy, /etc/tls) in a temporary directory."""
    command = _render_command(docs)
    if command is None:
        return
    env = (_config_map(docs, "twitter-config-") | _config_map(docs, "edge-config-")
           | {"EDGE_PORT": "8080", "ENVOY_ADMIN_PORT": "9901",
              "INTERNAL_TOKEN": "validation-only-internal-token-0123456789"})
    with tempfile.TemporaryDirectory() as tmp:
        self_signed(Path(tmp) / "tls")
        argv = [sys.executable if a == "python" else
                a.replace("/etc/envoy", tmp).replace("/etc/tls", f"{tmp}/tls") for a in command]
        subprocess.run(argv, check=True, cwd=REPO,  # noqa: S603
                       env=env | {"PATH": "/usr/bin:/bin"})
        result = subprocess.run([str(ENVOY), "--mode", "validate", "-c",  # noqa: S603
                                 f"{tmp}/envoy.yaml", "--disable-hot-restart",
                                 "--log-level", "error"],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            yield f"envoy --mode validate: {(result.stdout + result.stderr).strip()[-2000:]}"


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def release_errors(docs: list[dict[str, Any]]) -> Iterator[str]:
    """The migration Job is named after the release (migrate-<RELEASE>): its
    name becomes its pods' names, which the API server wants as DNS labels."""
    for doc in docs:
        if doc["kind"] == "Job" and not DNS_LABEL.fullmatch(doc["metadata"]["name"]):
            yield (f"Job {doc['metadata']['name']}: not a DNS label (RELEASE: lowercase "
                   "letters, digits and dashes, e.g. v0-2-0)")


MIGRATION_CONTAINERS = {"migrate", "wait-for-schema"}  # the migrate Job, schema-wait.yaml


def _module(container: dict[str, Any]) -> str | None:
    argv = [*container.get("command", []), *container.get("args", [])]
    return argv[argv.index("-m") + 1] if "-m" in argv[:-1] else None


def migration_errors(docs: list[dict[str, Any]]) -> Iterator[str]:
    """Production runs production code: the migrate Job and the schema-wait
    initContainers run `python -m services.migrations`, and no workload runs
    the local stack's CLI (`python -m stack`)."""
    for doc in docs:
        pod = pod_spec(doc)
        for c in (pod.get("initContainers", []) + pod.get("containers", [])) if pod else []:
            module = _module(c)
            if module == "stack" or (c["name"] in MIGRATION_CONTAINERS
                                     and module != "services.migrations"):
                yield (f"{doc['kind']}/{doc['metadata']['name']}: container {c['name']} runs"
                       f" `{' '.join(c.get('command', []))}`; migrations run"
                       " `python -m services.migrations`")


def check(directory: Path, kustomize: Path) -> list[str]:
    docs = build(directory, kustomize)
    problems = []
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata'].get('name')}"
        problems += [f"{name}: {e}" for e in schema_errors(doc)]
        problems += [f"{name}: restricted: {e}" for e in pod_security_violations(doc)]
    problems += list(release_errors(docs))
    problems += list(migration_errors(docs))
    problems += [f"edge: {e}" for e in envoy_errors(docs)]
    return [f"{directory.relative_to(REPO)}: {p}" for p in problems]


def main(argv: list[str]) -> int:
    directories = [Path(a).resolve() for a in argv[1:]] or kustomizations()
    tool = kustomize()
    problems = [p for d in directories for p in check(d, tool)]
    for p in problems:
        print(p, file=sys.stderr)
    names = ", ".join(str(d.relative_to(REPO)) for d in directories)
    print(f"k8s: {names}: {'FAILED' if problems else 'valid'} (schemas {KUBERNETES_VERSION} "
          "strict, pod security restricted, edge config through envoy --mode validate, "
          "migrations from services.migrations)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
