"""The S3 object store (``s3://bucket/prefix``) over s3fs, for AWS or any S3-compatible server.

Atomicity comes from S3 itself: an object becomes visible only once its PUT (or the completion
of a multipart upload) succeeds, so readers see the old or the complete new object, never a
partial one, and a failed upload leaves the old object in place.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import botocore.exceptions
import s3fs

from sagebox.backends.storage import normalize_key
from sagebox.backends.storage.base import ObjectInfo, ObjectStore
from sagebox.config import load_settings
from sagebox.errors import (
    ConfigError,
    InputDataError,
    NotFoundError,
    ServiceUnavailableError,
    redact,
    redact_uri,
)

if TYPE_CHECKING:
    from sagebox.config import Settings

__all__ = ["S3ObjectStore"]

ENDPOINT_ENV = "SAGEBOX_S3_ENDPOINT_URL"

# Fail fast on an unreachable endpoint instead of botocore's minutes of retries.
_CLIENT_CONFIG = {
    "connect_timeout": 3,
    "read_timeout": 60,
    "retries": {"max_attempts": 1, "mode": "standard"},
}
#: conditional PUTs are single requests, so they are for small objects (dataset states)
_MAX_CONDITIONAL = 5 * 2**20
_UNREACHABLE = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


class S3ObjectStore(ObjectStore):
    """Objects in an S3 bucket under an optional key prefix.

    The endpoint is ``endpoint_url`` if given, else ``settings.s3_endpoint_url`` (which the
    ``SAGEBOX_S3_ENDPOINT_URL`` environment variable sets), else AWS. Credentials come from the
    usual AWS sources (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, roles).
    s3fs's directory-listing cache is disabled, so ``list`` and ``exists`` always see writes
    made by other processes. ``exists`` and ``delete`` of a missing key cost one HEAD request.

    Args:
        uri: ``s3://bucket`` or ``s3://bucket/prefix``.
        settings: endpoint and region; ``None`` loads them with :func:`load_settings`.
        endpoint_url: overrides the endpoint from settings.

    Example:
        >>> store = S3ObjectStore("s3://lake/dev", endpoint_url="http://127.0.0.1:9000")
        >>> store.ensure_bucket()
        >>> store.write_bytes("raw/hello.txt", b"hi")
        >>> store.url("raw/hello.txt")
        's3://lake/dev/raw/hello.txt'
    """

    def __init__(
        self, uri: str, settings: Settings | None = None, *, endpoint_url: str | None = None
    ) -> None:
        scheme, _, path = uri.partition("://")
        bucket, _, prefix = path.strip("/").partition("/")
        if scheme.lower() != "s3" or not bucket:
            raise ConfigError(
                f"invalid S3 URI {uri!r}", hint="use s3://bucket or s3://bucket/prefix"
            )
        if endpoint_url is None:
            settings = settings or load_settings()
            endpoint_url = settings.s3_endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        if endpoint_url and redact(endpoint_url) != endpoint_url:
            # botocore would echo the whole URL, keys included, in its "not a valid URI" error.
            raise ConfigError(
                f"the S3 endpoint URL {redact(endpoint_url)} holds credentials",
                hint="give scheme://host:port only, and the keys in AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
            )
        region = settings.s3_region if settings else "us-east-1"
        self.bucket = bucket
        self.region = region
        self.prefix = normalize_key(prefix, prefix=True).rstrip("/")
        self.root = f"{bucket}/{self.prefix}".rstrip("/")
        self.uri = f"s3://{self.root}"
        self.endpoint_url = endpoint_url
        self._bucket_seen = False
        self._fs = s3fs.S3FileSystem(
            endpoint_url=endpoint_url,
            client_kwargs={"region_name": region},
            config_kwargs=_CLIENT_CONFIG,
            use_listings_cache=False,
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.uri!r}, endpoint_url={redact_uri(self.endpoint_url)!r})"

    def _path(self, key: str) -> str:
        return f"{self.root}/{normalize_key(key)}"

    def read_bytes(self, key: str) -> bytes:
        with self._errors(key):
            data: bytes = self._fs.cat_file(self._path(key))
            return data

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self._fs.pipe_file(self._path(key), data)

    def read_versioned(self, key: str) -> tuple[bytes, str]:
        path = self._path(key)
        with self._errors(key):
            # HEAD before GET: if the object changes in between, the token is older than the
            # content, so a write_bytes_if with it fails (and is retried), never the reverse.
            info = self._fs.info(path)
            if info.get("type") != "file":
                raise FileNotFoundError(path)
            data: bytes = self._fs.cat_file(path)
        return data, str(info["ETag"])

    def write_bytes_if(self, key: str, data: bytes, expected_version: str | None) -> bool:
        if len(data) > _MAX_CONDITIONAL:
            raise InputDataError(
                f"conditional write of {len(data)} bytes to {key!r} is too large",
                hint=f"conditional writes are for small objects (at most {_MAX_CONDITIONAL} B)",
            )
        condition = (
            {"IfNoneMatch": "*"} if expected_version is None else {"IfMatch": expected_version}
        )
        with self._errors(key):
            try:
                self._fs.pipe_file(self._path(key), data, **condition)
            except FileExistsError:  # If-None-Match: someone created it first
                return False
            except FileNotFoundError:  # If-Match on an object deleted meanwhile
                self._check_bucket()
                return False
            except OSError as exc:
                # 412 PreconditionFailed (If-Match), 409 ConditionalRequestConflict (a
                # concurrent conditional write won the race)
                if exc.errno == errno.EINVAL or "ConditionalRequestConflict" in str(exc):
                    return False
                raise
        return True

    def sweep_temp(
        self, prefix: str = "", older_than: float = 3600.0, *, dry_run: bool = False
    ) -> list[ObjectInfo]:
        """Abort incomplete multipart uploads (of killed uploads) started ``older_than`` ago."""
        prefix = normalize_key(prefix, prefix=True)
        full = f"{self.prefix}/{prefix}".lstrip("/") if self.prefix else prefix
        cutoff = time.time() - older_than
        out = []
        with self._errors(prefix):
            listed = self._fs.call_s3("list_multipart_uploads", Bucket=self.bucket, Prefix=full)
            for upload in listed.get("Uploads", []):
                started = _timestamp(upload.get("Initiated"))
                if started is not None and started > cutoff:
                    continue
                key = str(upload["Key"])[len(self.prefix) + 1 if self.prefix else 0 :]
                if not dry_run:
                    self._fs.call_s3(
                        "abort_multipart_upload",
                        Bucket=self.bucket,
                        Key=upload["Key"],
                        UploadId=upload["UploadId"],
                    )
                out.append(ObjectInfo(key, 0, started))
        return sorted(out, key=lambda info: info.key)

    def upload(self, local_path: Path, key: str) -> None:
        source = Path(local_path)
        if not source.is_file():
            raise InputDataError(
                f"cannot upload {str(source)!r}: no such file", hint="check the local path"
            )
        with self._errors(key):
            self._fs.put_file(str(source), self._path(key))

    def download(self, key: str, local_path: Path) -> Path:
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name[:100]}.{secrets.token_hex(8)}.sagebox-tmp")
        try:
            with self._errors(key):
                self._fs.get_file(self._path(key), str(partial))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def exists(self, key: str) -> bool:
        # Not fs.isfile: it swallows every error, so an unreachable endpoint would read as False.
        with self._errors(key):
            try:
                return bool(self._fs.info(self._path(key))["type"] == "file")
            except FileNotFoundError:
                self._check_bucket()
                return False

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        prefix = normalize_key(prefix, prefix=True)
        with self._errors(prefix):
            found = self._fs.find(self.root, prefix=prefix, detail=True)
        start = len(self.root) + 1
        infos = [
            ObjectInfo(name[start:], int(info["size"]), _timestamp(info.get("LastModified")))
            for name, info in found.items()
            if info["type"] == "file" and name[start:].startswith(prefix) and name[start:]
        ]
        if not infos:
            self._check_bucket()
        return sorted(infos, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        if not self.exists(key):
            raise self._not_found(key)
        with self._errors(key):
            self._fs.rm_file(self._path(key))

    def delete_prefix(self, prefix: str) -> int:
        # One DeleteObjects request per 1000 keys instead of a HEAD and a DELETE per key.
        infos = self.list(prefix)
        if infos:
            with self._errors(prefix):
                self._fs.rm([f"{self.root}/{info.key}" for info in infos])
        return len(infos)

    def filesystem(self) -> tuple[s3fs.S3FileSystem, str]:
        return self._fs, self.root

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (in the configured region)."""
        # Not fs.mkdir: it sends LocationConstraint=us-east-1, which S3 rejects.
        params: dict[str, object] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with self._errors(""):
            if self._fs.exists(self.bucket):
                return
            with suppress(FileExistsError):  # created concurrently
                self._fs.call_s3("create_bucket", **params)
        self._bucket_seen = True

    def _check_bucket(self) -> None:
        """Raise NotFoundError if the bucket does not exist (checked until it once does)."""
        if not self._bucket_seen:
            with self._errors(""):
                self._bucket_seen = bool(self._fs.exists(self.bucket))
            if not self._bucket_seen:
                raise self._no_bucket()

    def _no_bucket(self) -> NotFoundError:
        return NotFoundError(
            f"S3 bucket {self.bucket!r} does not exist at {self._endpoint_name()}",
            hint="create it, e.g. with S3ObjectStore.ensure_bucket() or `aws s3 mb`",
        )

    def _not_found(self, key: str) -> NotFoundError:
        return NotFoundError(
            f"no object {key!r} in {self.uri}",
            hint="check the key; store.list(prefix) shows what is stored",
        )

    def _endpoint_name(self) -> str:
        return redact(self.endpoint_url) if self.endpoint_url else "AWS S3"

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Translate s3fs and botocore errors into sagebox errors."""
        try:
            yield
        except FileNotFoundError as exc:
            self._check_bucket()
            raise self._not_found(key) from exc
        except _UNREACHABLE as exc:
            raise ServiceUnavailableError(
                f"cannot reach the S3 endpoint {self._endpoint_name()} ({type(exc).__name__})",
                hint=f"check {ENDPOINT_ENV} (or s3_endpoint_url) and that the server is running",
            ) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise ConfigError(
                f"no AWS credentials to access {self.uri}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
            ) from exc
        except PermissionError as exc:
            raise ConfigError(
                f"access to {self.uri} denied: {exc}",
                hint="check the AWS credentials and the bucket's permissions",
            ) from exc


def _timestamp(value: object) -> float | None:
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None
