"""Media objects: versioning on the media bucket, and a copy of each object in the
backup store.

Versioning keeps every overwritten or deleted object in place (an operator's
mistake is undone without a restore); the copy survives the loss of the media
store itself. Media objects are written once under a fresh key, so an object
already copied with the same size is not copied again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

from stack import probes
from stack.backup import store
from stack.backup.settings import BackupSettings

PREFIX = "media/objects/"


def _source(env: Mapping[str, str]) -> Any:
    return probes.s3_client(env, timeout=60)


def backup(env: Mapping[str, str], backups: BackupSettings) -> dict[str, Any]:
    src, dst, bucket = _source(env), store.client(backups), env["S3_BUCKET"]
    src.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    stored = store.existing_keys(backups, PREFIX)
    objects: dict[str, int] = {}
    uploaded = 0
    for page in src.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            key, size = obj["Key"], obj["Size"]
            objects[key] = size
            if stored.get(PREFIX + key) != size:
                with tempfile.TemporaryFile() as tmp:
                    src.download_fileobj(bucket, key, tmp)
                    tmp.seek(0)
                    dst.upload_fileobj(tmp, backups.bucket, PREFIX + key)
                uploaded += size
    return {"objects": objects, "size": sum(objects.values()), "uploaded": uploaded}


def restore(env: Mapping[str, str], backups: BackupSettings, part: dict[str, Any]) -> int:
    src, dst, bucket = store.client(backups), _source(env), env["S3_BUCKET"]
    dst.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in part["objects"]:
        with tempfile.TemporaryFile() as tmp:
            src.download_fileobj(backups.bucket, PREFIX + key, tmp)
            tmp.seek(0)
            dst.upload_fileobj(tmp, bucket, key)
    return len(part["objects"])
