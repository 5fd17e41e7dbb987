"""Object storage: the media bucket, created when missing. The local stack runs
this; in Kubernetes the bucket comes with the store (k8s/datastores/minio.yaml,
or the cloud's), so the migrate Job leaves it out."""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from services.migrations.settings import MigrationSettings

log = logging.getLogger("migrations")
TIMEOUT = 10.0


def ensure(settings: MigrationSettings) -> list[str]:
    """Creates S3_BUCKET if it does not exist; returns what it created."""
    s3 = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key.get_secret_value(),
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT,
                      retries={"max_attempts": 1}))
    if settings.s3_bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        return []
    # us-east-1 is S3's default location and the only one it refuses to be named.
    where: dict[str, Any] = {} if settings.s3_region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": settings.s3_region}}
    try:
        s3.create_bucket(Bucket=settings.s3_bucket, **where)
    except ClientError as exc:  # another runner made it since we looked
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
        return []
    log.info("s3: created bucket %s", settings.s3_bucket)
    return [settings.s3_bucket]
