"""The backup store: an S3 bucket, and locally the MinIO server that holds it.

The local store is started on demand (by `make backup`, `make restore`, and `make
up` once backups are configured, since PostgreSQL archives its WAL there
continuously) and stopped by `make down`. It runs the stack's pinned MinIO binary
with TLS, because pgBackRest speaks S3 over TLS only.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from stack import procs, wait
from stack.backup.settings import BackupSettings
from stack.errors import StackError
from stack.topology import REPO

log = logging.getLogger("stack")
START_TIMEOUT = 90.0


def minio_binary() -> Path:
    cache = Path(os.environ.get("TWITTER_CACHE") or Path.home() / ".cache" / "twitter-mesh")
    return cache / "bin" / "minio"


def client(settings: BackupSettings, timeout: float = 60.0) -> Any:
    return boto3.client(
        "s3", endpoint_url=settings.endpoint, region_name=settings.region,
        aws_access_key_id=settings.access_key, aws_secret_access_key=settings.secret_key,
        verify=str(settings.ca_file) if settings.ca_file else None,
        config=Config(connect_timeout=timeout, read_timeout=timeout,
                      retries={"max_attempts": 3, "mode": "standard"}),
    )  # fmt: skip


def _pid_file(settings: BackupSettings) -> Path:
    assert settings.local_dir is not None
    return settings.local_dir / "minio.pid"


def running_pid(settings: BackupSettings) -> int | None:
    try:
        pid = int(_pid_file(settings).read_text())
    except (OSError, ValueError):
        return None
    return pid if procs.alive(pid) else None


def _certificate(certs: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (MinIO reads public.crt/private.key)."""
    if (certs / "public.crt").exists() and (certs / "private.key").exists():
        return
    # The certificate is public (pgBackRest reads it as PostgreSQL's OS user); the key
    # is not, and openssl writes it 0600.
    certs.mkdir(parents=True, exist_ok=True, mode=0o755)
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "3650", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(certs / "private.key"), "-out", str(certs / "public.crt")]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"openssl could not make the backup store's certificate: "
                         f"{result.stderr.strip()}")
    (certs / "public.crt").chmod(0o644)


def ensure_running(settings: BackupSettings) -> None:
    """Start the local store unless it runs (no-op for an external S3); make the bucket."""
    if settings.local_dir is not None and running_pid(settings) is None:
        _start(settings, settings.local_dir)
    s3 = client(settings, timeout=10)
    wait.until(s3.list_buckets, START_TIMEOUT)
    if settings.bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=settings.bucket)
        log.info("backup store: created bucket %s", settings.bucket)


def _start(settings: BackupSettings, base: Path) -> None:
    binary = minio_binary()
    if not binary.exists():
        subprocess.run(["/bin/bash", str(REPO / "stack/install/minio.sh")], check=True)  # noqa: S603
    certs = base / "certs"
    _certificate(certs)
    (base / "data").mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "MINIO_ROOT_USER": settings.access_key, "MINIO_ROOT_PASSWORD": settings.secret_key,
        "MINIO_SITE_REGION": settings.region, "MINIO_BROWSER": "off", "MINIO_UPDATE": "off",
        "MINIO_CALLHOME_ENABLE": "off",
    }  # fmt: skip
    argv = [str(binary), "server", "--quiet", "--certs-dir", str(certs),
            "--address", f"127.0.0.1:{settings.port}", str(base / "data")]
    with (base / "minio.log").open("ab") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    _pid_file(settings).write_text(str(process.pid))
    log.info("backup store: MinIO %d on %s, data in %s", process.pid, settings.endpoint, base)


def stop(settings: BackupSettings) -> None:
    if settings.local_dir is None or (pid := running_pid(settings)) is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _pid_file(settings).unlink(missing_ok=True)
    log.info("backup store: stopped MinIO %d", pid)


def put_json(settings: BackupSettings, key: str, body: object) -> None:
    client(settings).put_object(Bucket=settings.bucket, Key=key,
                                Body=json.dumps(body, indent=2, sort_keys=True).encode())


def get_json(settings: BackupSettings, key: str) -> Any:
    return json.loads(client(settings).get_object(Bucket=settings.bucket, Key=key)["Body"].read())


def existing_keys(settings: BackupSettings, prefix: str) -> dict[str, int]:
    """Every key under prefix with its size."""
    pages = client(settings).get_paginator("list_objects_v2").paginate(
        Bucket=settings.bucket, Prefix=prefix)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}
