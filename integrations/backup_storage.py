"""Where backups (and chat media, ``core.storage``) are kept: a local directory or an
S3-compatible bucket (AWS, MinIO, R2).

One small interface (``put``, ``get``, ``names``, ``delete``) so taking, listing, pruning
and restoring backups do not care which. S3 goes through boto3; its credentials come from
``BACKUP_S3_*`` settings or, when those are unset, boto3's usual chain (environment,
instance role). Nothing here logs a credential or a presigned URL.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class StorageError(RuntimeError):
    """The backup target cannot be read or written; the message is one sentence."""


class BackupStore(Protocol):
    description: str  # for messages: a path or s3://bucket/prefix, never a credential

    def locate(self, name: str) -> str: ...

    def put(self, local: Path, name: str) -> None: ...

    def get(self, name: str, local: Path) -> None: ...

    def names(self) -> list[str]: ...

    def delete(self, name: str) -> None: ...

    def put_bytes(self, data: bytes, name: str) -> None: ...

    def get_bytes(self, name: str) -> bytes: ...


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


class LocalStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = str(directory)

    def locate(self, name: str) -> str:
        return str(self.directory / name)

    def put(self, local: Path, name: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{name}.partial"
            shutil.copyfile(local, partial)
            partial.replace(self.directory / name)  # a reader never sees half a backup
        except OSError as exc:
            raise StorageError(f"cannot write to {self.description}: {exc.strerror}") from None

    def get(self, name: str, local: Path) -> None:
        try:
            shutil.copyfile(self.directory / name, local)
        except OSError as exc:
            raise StorageError(f"cannot read {self.directory / name}: {exc.strerror}") from None

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if p.is_file())

    def delete(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def put_bytes(self, data: bytes, name: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{name}.partial"
            partial.write_bytes(data)
            partial.replace(self.directory / name)
        except OSError as exc:
            raise StorageError(f"cannot write to {self.description}: {exc.strerror}") from None

    def get_bytes(self, name: str) -> bytes:
        try:
            return (self.directory / name).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {self.directory / name}: {exc.strerror}") from None


class S3Store:
    def __init__(self, bucket: str, prefix: str, settings: S3Settings) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.description = f"s3://{bucket}/{self.prefix}"
        self.settings = settings
        self._client: Any = None

    def locate(self, name: str) -> str:
        return self.description + name

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            self._client = boto3.client(
                "s3",
                # Signature V4 for presigned links too (R2 and newer AWS regions take no other).
                config=BotoConfig(signature_version="s3v4"),
                endpoint_url=self.settings.endpoint_url,
                region_name=self.settings.region,
                aws_access_key_id=self.settings.access_key_id,
                aws_secret_access_key=self.settings.secret_access_key,
            )
        return self._client

    def put(self, local: Path, name: str) -> None:
        with self._errors("upload to"):
            self.client.upload_file(str(local), self.bucket, self.prefix + name)

    def get(self, name: str, local: Path) -> None:
        with self._errors(f"download {name} from"):
            self.client.download_file(self.bucket, self.prefix + name, str(local))

    def names(self) -> list[str]:
        found: list[str] = []
        with self._errors("list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    rest = item["Key"][len(self.prefix) :]
                    if rest and "/" not in rest:  # only this "folder", not below it
                        found.append(rest)
        return sorted(found)

    def delete(self, name: str) -> None:
        with self._errors(f"delete {name} from"):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)

    def put_bytes(self, data: bytes, name: str) -> None:
        with self._errors("upload to"):
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def get_bytes(self, name: str) -> bytes:
        with self._errors(f"download {name} from"):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
            return answer["Body"].read()
        raise AssertionError("unreachable: _errors raises")  # for type checkers

    def presigned_get(self, name: str, *, disposition: str, content_type: str, seconds: int) -> str:
        """A GET link to the file valid for ``seconds``, answering with this
        Content-Disposition and Content-Type (never logged: it is the file's key)."""
        with self._errors(f"sign a link to {name} in"):
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.prefix + name,
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": content_type,
                },
                ExpiresIn=seconds,
            )
        raise AssertionError("unreachable: _errors raises")  # for type checkers

    def _errors(self, doing: str) -> _S3Errors:
        return _S3Errors(f"cannot {doing} {self.description}")


class _S3Errors:
    """Turn botocore's exceptions into one sentence (their text carries no secrets, but
    their type and code are all an operator needs)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, Boto3Error):  # upload_file's wrapper: the cause says what failed
            cause = exc.__cause__ or exc.__context__
            exc = cause if isinstance(cause, ClientError | BotoCoreError) else exc
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "error")
            raise StorageError(f"{self.what}: {code}") from None
        if isinstance(exc, BotoCoreError | Boto3Error):
            raise StorageError(f"{self.what}: {type(exc).__name__}") from None
        return False


def open_store(target: str, s3: S3Settings | None = None) -> BackupStore:
    """``s3://bucket/prefix`` or a directory path."""
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        if not bucket:
            raise StorageError(f"{target!r} names no bucket (s3://bucket/prefix)")
        return S3Store(bucket, prefix, s3 or S3Settings())
    if "://" in target:
        raise StorageError(f"{target!r} is neither a directory nor an s3://bucket/prefix")
    return LocalStore(Path(target).expanduser())
