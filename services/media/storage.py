"""The S3 bucket through boto3 (MinIO locally, any S3 in production).

boto3 is synchronous: every network call runs on a small bounded thread pool
(its size matches botocore's connection pool), never on the event loop.
Presigning is local computation and runs inline.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from services.media.patch import MIN_PART_BYTES, Patch, apply, plan_parts
from services.shared.config import S3Settings
from services.shared.resilience.breaker import CircuitBreaker, guarded

T = TypeVar("T")

LIFECYCLE_RULE_ID = "expire-staged-uploads"


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str
    etag: str


class ObjectChanged(Exception):
    """The object is not the version read before (an If-Match failed)."""


def _client(settings: S3Settings, endpoint_url: str | None, pool: int) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key.get_secret_value(),
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      max_pool_connections=pool, connect_timeout=5, read_timeout=30,
                      retries={"mode": "standard", "max_attempts": 3}),
    )


class ObjectStore:
    def __init__(self, settings: S3Settings, *, presign_endpoint_url: str | None = None,
                 threads: int = 16) -> None:
        self._bucket = settings.s3_bucket
        self._s3 = _client(settings, settings.s3_endpoint_url, threads)
        # URLs handed to clients may need another host than the one the service
        # reaches S3 on (the signature covers the host).
        self._presigner = (_client(settings, presign_endpoint_url, 1)
                           if presign_endpoint_url else self._s3)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3")
        # boto3 retries each call itself; the breaker spares a dead S3 the
        # connect timeout of every request.
        self.breaker = CircuitBreaker("s3")

    async def _run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        async with guarded(self.breaker, "media storage"):
            return await loop.run_in_executor(self._pool, functools.partial(fn, **kwargs))

    def presign_upload(self, key: str, content_type: str, size: int,
                       expires_seconds: int) -> PresignedUpload:
        """A PUT URL whose signature covers Content-Type, Content-Length and
        `If-None-Match: *`: S3 refuses any other type or size, and any write
        once the key exists, so the URL uploads once and never again."""
        url = self._presigner.generate_presigned_url(
            "put_object", ExpiresIn=expires_seconds,
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type,
                    "ContentLength": size, "IfNoneMatch": "*"})
        return PresignedUpload(url=url, method="PUT", headers={
            "Content-Type": content_type, "Content-Length": str(size), "If-None-Match": "*"})

    def presign_download(self, key: str, expires_seconds: int) -> str:
        url: str = self._presigner.generate_presigned_url(
            "get_object", ExpiresIn=expires_seconds, Params={"Bucket": self._bucket, "Key": key})
        return url

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            out = await self._run(self._s3.head_object, Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == HTTPStatus.NOT_FOUND:
                return None
            raise
        return ObjectInfo(size=int(out["ContentLength"]), content_type=out.get("ContentType", ""),
                          etag=out.get("ETag", ""))

    async def read(self, key: str, *, first: int | None = None, offset: int = 0,
                   etag: str | None = None) -> bytes:
        """The object's bytes, or `first` of them from `offset`; with `etag`,
        only from that version of it (ObjectChanged otherwise)."""
        extra: dict[str, str] = {}
        if first is not None:
            extra["Range"] = f"bytes={offset}-{offset + first - 1}"
        if etag:
            extra["IfMatch"] = etag

        def get() -> bytes:
            body = self._s3.get_object(Bucket=self._bucket, Key=key, **extra)["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data
        try:
            return await self._run(get)
        except ClientError as exc:
            if _status(exc) in (404, 412):
                raise ObjectChanged(key) from exc
            raise

    async def write(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(self._s3.put_object, Bucket=self._bucket, Key=key, Body=data,
                        ContentType=content_type)

    async def copy(self, source: str, key: str, content_type: str, *, etag: str,
                   size: int = 0, patches: Sequence[Patch] = ()) -> None:
        """A copy of that version of the source only (ObjectChanged otherwise),
        with `patches` (sorted, not overlapping, each the length it replaces)
        written over it. Without patches a server-side copy: the bytes never
        pass through the service; with them, a multipart upload whose clean
        stretches are server-side copies too (patch.py)."""
        try:
            if not patches:
                await self._run(self._s3.copy_object, Bucket=self._bucket, Key=key,
                                CopySource={"Bucket": self._bucket, "Key": source},
                                CopySourceIfMatch=etag, ContentType=content_type,
                                MetadataDirective="REPLACE")
            elif size <= MIN_PART_BYTES:
                data = bytearray(await self.read(source, etag=etag))
                await self.write(key, bytes(apply(data, 0, patches)), content_type)
            else:
                await self._copy_in_parts(source, key, content_type, etag, size, patches)
        except ClientError as exc:
            if _status(exc) in (404, 412):
                raise ObjectChanged(source) from exc
            raise

    async def _copy_in_parts(self, source: str, key: str, content_type: str, etag: str,
                             size: int, patches: Sequence[Patch]) -> None:
        upload = await self._run(self._s3.create_multipart_upload, Bucket=self._bucket,
                                 Key=key, ContentType=content_type)
        upload_id = upload["UploadId"]
        done: list[dict[str, Any]] = []
        try:
            for number, part in enumerate(plan_parts(size, patches), start=1):
                common = {"Bucket": self._bucket, "Key": key, "UploadId": upload_id,
                          "PartNumber": number}
                if part.copy:
                    out = await self._run(
                        self._s3.upload_part_copy, **common,
                        CopySource={"Bucket": self._bucket, "Key": source},
                        CopySourceIfMatch=etag,
                        CopySourceRange=f"bytes={part.start}-{part.end - 1}")
                    tag = out["CopyPartResult"]["ETag"]
                else:
                    data = bytearray(await self.read(source, first=part.end - part.start,
                                                     offset=part.start, etag=etag))
                    out = await self._run(self._s3.upload_part, **common,
                                          Body=bytes(apply(data, part.start, patches)))
                    tag = out["ETag"]
                done.append({"ETag": tag, "PartNumber": number})
            await self._run(self._s3.complete_multipart_upload, Bucket=self._bucket, Key=key,
                            UploadId=upload_id, MultipartUpload={"Parts": done})
        except BaseException:
            await asyncio.shield(self._run(self._s3.abort_multipart_upload,
                                           Bucket=self._bucket, Key=key, UploadId=upload_id))
            raise

    async def seal(self, key: str) -> None:
        """Leaves an empty object at `key`: a write-once upload URL for it
        (If-None-Match) can then never write there again."""
        await self.write(key, b"", "application/octet-stream")

    async def delete(self, key: str) -> None:
        await self._run(self._s3.delete_object, Bucket=self._bucket, Key=key)

    async def ensure_lifecycle(self, prefix: str, expire_days: int) -> None:
        """Installs the rule that expires staged uploads (a backstop for the
        sweeper, which deletes them sooner). It replaces the bucket's lifecycle
        configuration: the bucket belongs to this service."""
        await self._run(
            self._s3.put_bucket_lifecycle_configuration, Bucket=self._bucket,
            LifecycleConfiguration={"Rules": [{
                "ID": LIFECYCLE_RULE_ID, "Status": "Enabled",
                "Filter": {"Prefix": prefix},
                "Expiration": {"Days": expire_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }]})

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
