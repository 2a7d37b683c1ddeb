"""The push API's service: per-source tokens (only their sha256 is stored) and batch ingestion.

A batch goes through the same ingest() as files (as JSON Lines of our request schema), so it
is all or nothing, recorded as a run, and idempotent: the same batch again is skipped by its
fingerprint, and a request id already counted is never counted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from costapp.ingest.files import InputFile
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.ingest.runs import ingest

from .models import Source

TOKEN_PREFIX = "ilp_"
FORMAT = "jsonl"  # a batch is our request schema, whatever format the source names


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(source: Source) -> str:
    """A new token for the source, replacing any earlier one. Shown once; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    source.api_token_hash = _digest(token)
    source.save(update_fields=["api_token_hash"])
    return token


def source_for_token(token: str) -> Source | None:
    if not token:
        return None
    digest = _digest(token)
    source = Source.objects.filter(api_token_hash=digest, enabled=True).first()
    # The lookup is by hash already; compare_digest keeps the final check constant-time.
    if source is None or not hmac.compare_digest(source.api_token_hash, digest):
        return None
    return source


class BatchError(Exception):
    """A record the batch cannot contain: its index in the batch and the field at fault."""

    def __init__(self, message: str, index: int | None, field: str | None) -> None:
        super().__init__(message)
        self.message, self.index, self.field = message, index, field


class _Repeated(dict):
    """A decoded object that named `key` twice (json keeps the last; we refuse the record)."""

    key = ""


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    flagged = _Repeated(found)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            flagged.key = key
            break
        seen.add(key)
    return flagged


# Decoding flags a repeated key rather than raising, so the error can name its record's index.
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs)


def parse_body(body: bytes) -> object:
    """The request body as JSON (json.JSONDecodeError / UnicodeDecodeError when it is not)."""
    return _DECODER.decode(body.decode("utf-8"))


def _repeated_key(value: object) -> str | None:
    if isinstance(value, _Repeated):
        return value.key
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        for child in children:
            found = _repeated_key(child)
            if found is not None:
                return found
    return None


def records_of(payload: object) -> list[dict]:
    """A JSON list of records, or {"records": [...]}; each must be an object naming each key
    once (a request tagged team "search" then "ads" must not silently go to ads)."""
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        raise BatchError(
            'expected a non-empty JSON list of records, or {"records": [...]}', None, None
        )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise BatchError("a record must be a JSON object", index, None)
        key = _repeated_key(record)
        if key is not None:
            raise BatchError(f"the key {key!r} appears twice in one object", index, key)
    return records


def ingest_batch(source: Source, records: list[dict]) -> IngestionRun:
    """Store one batch (all or nothing). Raises BatchError naming the record and field at fault."""
    body = "\n".join(json.dumps(record, separators=(",", ":")) for record in records)
    name = f"push:{source.name}"
    run = ingest(
        [InputFile.from_bytes(name, body.encode())], FORMAT, source=source, location="push"
    )
    if run.status == RunStatus.FAILED:
        # Line n of the batch file is record n-1; the column is the record's field.
        index = run.error_line - 1 if run.error_line else None
        where = f"{name}, line {run.error_line}"
        if run.error_column:
            where += f", column {run.error_column}"
        raise BatchError(run.error.removeprefix(f"{where}: "), index, run.error_column or None)
    return run
