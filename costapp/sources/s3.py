"""Files under an s3:// prefix, streamed with boto3 (ranged GETs, never a whole-file download).

Two ways to find deliveries:
- manifests (CUR 2.0 / AWS Data Exports, legacy CUR, AWS's FOCUS export): a new or rewritten
  `*-Manifest.json` is one delivery holding every data file it lists, so a restated month
  replaces the earlier one atomically;
- plain prefixes (FOCUS files, request logs): each new object is a delivery (for billing
  formats, with the rest of its folder; see deliveries.plan).

Source fields: location "s3://bucket/prefix"; options `endpoint_url`, `region`, `manifest`
(default on for cur/cur2), `suffixes`, `group`, `max_attempts`; credentials_ref maps
aws_access_key_id / aws_secret_access_key / aws_session_token to environment variable NAMES.
S3 5xx, throttling, timeouts and dropped connections become TransientError (the task retries);
403, 404 and the like are IngestError (the run fails and says why).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)

from costapp.ingest.errors import IngestError, ParseError, TransientError
from costapp.ingest.files import InputFile

from . import credentials
from .deliveries import Delivery, Entry, Watermark, plan
from .local import by_folder

CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
TRANSIENT_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "InternalError"}
)
MANIFEST_SUFFIX = "-Manifest.json"
LEGACY_PERIOD = re.compile(r"^\d{8}-\d{8}$")
CHUNK = 1 << 20


def split_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise IngestError(f"{url!r} is not an s3:// location")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise IngestError(f"{url!r} names no bucket")
    return bucket, prefix


def client_for(source) -> Any:
    options = source.options
    config = Config(
        retries={"total_max_attempts": int(options.get("max_attempts", 3)), "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(
        "s3",
        endpoint_url=options.get("endpoint_url") or None,
        region_name=options.get("region", "us-east-1"),
        config=config,
        **credentials.resolve(source.credentials_ref, CREDENTIAL_KEYS),
    )


@contextmanager
def s3_faults(what: str):
    """Sort boto3's exceptions into retry-worthy and permanent ones."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = error.get("Code", "")
        text = f"S3 {what}: {code or status} {error.get('Message', '')}".strip()
        # 412: the object changed while we read it; the next attempt reads the new version.
        if status >= 500 or status in (412, 429) or code in TRANSIENT_CODES:
            raise TransientError(text) from exc
        raise IngestError(text) from exc
    except (HTTPClientError, IncompleteReadError) as exc:
        raise TransientError(f"S3 {what}: {exc}") from exc
    except NoCredentialsError as exc:
        raise IngestError(f"S3 {what}: no AWS credentials ({exc})") from exc
    except BotoCoreError as exc:
        raise IngestError(f"S3 {what}: {exc}") from exc


class S3Object(io.RawIOBase):
    """A seekable read-only view of one object: a streaming GET from the current offset,
    reopened with a Range after a seek (Parquet reads its footer first)."""

    def __init__(self, client, bucket: str, key: str, size: int, etag: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._size, self._etag = size, etag
        self._pos = 0
        self._body = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        target = max(0, base + offset)
        if target != self._pos:
            self._drop_body()
            self._pos = target
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        where = f"read s3://{self._bucket}/{self._key}"
        with s3_faults(where):
            if self._body is None:
                # If-Match: a file replaced mid-read must not be stitched from two versions.
                response = self._client.get_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Range=f"bytes={self._pos}-",
                    IfMatch=f'"{self._etag}"',
                )
                self._body = response["Body"]
            data = self._body.read(len(buffer))
        if not data:
            raise TransientError(f"S3 {where}: the stream ended at byte {self._pos}")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


@dataclass(frozen=True)
class S3Listing:
    key: str
    size: int
    etag: str
    at: int  # LastModified in microseconds


def input_file(client, bucket: str, obj: S3Listing) -> InputFile:
    def opener() -> io.BufferedReader:
        return io.BufferedReader(S3Object(client, bucket, obj.key, obj.size, obj.etag), CHUNK)

    return InputFile(name=f"s3://{bucket}/{obj.key}", opener=opener, size=obj.size, etag=obj.etag)


def list_objects(client, bucket: str, prefix: str) -> list[S3Listing]:
    found = []
    with s3_faults(f"list s3://{bucket}/{prefix}"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue  # a console "folder" marker
                found.append(
                    S3Listing(
                        key=item["Key"],
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        at=int(item["LastModified"].timestamp() * 1_000_000),
                    )
                )
    return found


def head(client, bucket: str, key: str, at: int = 0) -> S3Listing:
    with s3_faults(f"head s3://{bucket}/{key}"):
        meta = client.head_object(Bucket=bucket, Key=key)
    return S3Listing(key=key, size=meta["ContentLength"], etag=meta["ETag"].strip('"'), at=at)


def is_delivery_manifest(key: str) -> bool:
    """CUR 2.0 keeps manifests in metadata/<period>/; legacy CUR in <yyyymmdd-yyyymmdd>/.

    Legacy CUR also copies each manifest into an <assemblyId>/ folder; the period-level one
    always points at the newest assembly, so only that one is a delivery.
    """
    path = PurePosixPath(key)
    if not path.name.endswith(MANIFEST_SUFFIX):
        return False
    parents = path.parent.parts
    return bool(LEGACY_PERIOD.match(path.parent.name)) or (
        len(parents) >= 2 and parents[-2] == "metadata"
    )


def manifest_files(client, bucket: str, manifest: S3Listing) -> list[InputFile]:
    """The data files one manifest lists: CUR 2.0's dataFiles (s3:// URLs) or legacy reportKeys."""
    name = f"s3://{bucket}/{manifest.key}"
    with input_file(client, bucket, manifest).open_binary() as handle:
        raw = handle.read()
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"not a JSON manifest ({exc})", file=name, expected="JSON") from None
    listed = None
    if isinstance(document, dict):
        listed = document.get("dataFiles") or document.get("reportKeys")
    if not listed or not isinstance(listed, list):
        raise ParseError(
            "the manifest lists no data files",
            file=name,
            column="dataFiles",
            expected="a non-empty dataFiles or reportKeys list",
        )
    files = []
    for entry in listed:
        if str(entry).startswith("s3://"):
            file_bucket, key = split_url(str(entry))
        else:
            file_bucket, key = document.get("bucket") or bucket, str(entry)
        try:
            files.append(input_file(client, file_bucket, head(client, file_bucket, key)))
        except IngestError as exc:
            raise IngestError(
                f"{name} lists s3://{file_bucket}/{key}, which cannot be read: {exc}"
            ) from exc
    return files


def deliveries(source) -> Iterator[Delivery]:
    bucket, prefix = split_url(source.location)
    client = client_for(source)
    options = source.options
    watermark = Watermark.from_state(source.state)
    listing = list_objects(client, bucket, prefix)
    if options.get("manifest", source.format in {"cur", "cur2"}):
        entries = [Entry(o.at, o.key, o, o.etag) for o in listing if is_delivery_manifest(o.key)]
        for _, fresh in plan(entries, watermark, by_folder=False):
            watermark.advance(fresh)
            manifest = fresh[0].item
            yield _manifest_delivery(
                lambda m=manifest: manifest_files(client, bucket, m),
                f"s3://{bucket}/{manifest.key}",
                watermark.state(source.state),
            )
        return
    suffixes = tuple(options.get("suffixes", ()))
    entries = [
        Entry(o.at, o.key, o, o.etag)
        for o in listing
        if not o.key.endswith(MANIFEST_SUFFIX) and (not suffixes or o.key.endswith(suffixes))
    ]
    for members, fresh in plan(entries, watermark, by_folder=by_folder(source)):
        watermark.advance(fresh)
        location = f"s3://{bucket}/{members[0].key if len(members) == 1 else members[0].folder}"
        yield Delivery(
            files=[input_file(client, bucket, e.item) for e in members],
            location=location,
            state=watermark.state(source.state),
        )


def _manifest_delivery(read: Callable[[], list[InputFile]], location: str, state: dict) -> Delivery:
    """A manifest that cannot be used is a failed delivery (recorded, not retried)."""
    try:
        return Delivery(files=read(), location=location, state=state)
    except IngestError as exc:
        return Delivery(files=[], location=location, state=state, failure=exc)
