"""OpenAPI descriptions of the answers that are not built by serializers: the push API's batch
and the explain answer, which their views write as JSON themselves."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema

MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "exact decimal"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, naming the field"},
        "field": {"type": "string", "nullable": True, "description": "the parameter at fault"},
    },
}

_RECORD = {
    "type": "object",
    "description": "One request, as a line of the JSON Lines request log (docs/ARCHITECTURE.md).",
    "required": ["timestamp", "request_id", "team", "model", "endpoint"],
    "properties": {
        "timestamp": {
            "oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO 8601 or Unix seconds; UTC when no offset",
        },
        "request_id": {"type": "string", "description": "counted once however often sent"},
        "team": {"type": "string"},
        "model": {"type": "string"},
        "endpoint": {"type": "string"},
        "resource_id": {"type": "string", "description": "the billed instance that served it"},
        "input_tokens": {"type": "integer", "minimum": 0},
        "output_tokens": {"type": "integer", "minimum": 0},
        "latency_ms": {"type": "integer", "minimum": 0},
        "cache_hit": {"type": "boolean"},
        "gpu_seconds": {"oneOf": [{"type": "number"}, {"type": "string"}]},
    },
}

_BATCH = {
    "oneOf": [
        {"type": "array", "items": _RECORD, "minItems": 1},
        {
            "type": "object",
            "required": ["records"],
            "properties": {"records": {"type": "array", "items": _RECORD, "minItems": 1}},
        },
    ]
}

_BATCH_ERROR = {
    "type": "object",
    "required": ["error", "index", "field"],
    "properties": {
        "error": {"type": "string"},
        "index": {"type": "integer", "nullable": True, "description": "the record at fault"},
        "field": {"type": "string", "nullable": True, "description": "its field at fault"},
    },
}

_RUN = {
    "type": "object",
    "required": ["run_id", "status", "received", "stored", "duplicate_batch"],
    "properties": {
        "run_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["succeeded", "skipped"]},
        "received": {"type": "integer"},
        "stored": {"type": "integer"},
        "duplicate_batch": {"type": "boolean", "description": "the same batch was stored before"},
    },
}

usage = extend_schema(
    summary="Push a batch of request records",
    description=(
        "Stored all or nothing, through the same ingestion as files. Authenticated by a push "
        "source's token (an admin action on the source issues it), not a user's API token. "
        "Sending the same batch again stores nothing; a request id is counted once."
    ),
    auth=[{"pushToken": []}],
    request={"application/json": _BATCH},
    responses={200: _RUN, 400: _BATCH_ERROR, 401: ERROR, 413: ERROR, 503: ERROR},
    examples=[
        OpenApiExample(
            "one record",
            request_only=True,
            value={
                "records": [
                    {
                        "timestamp": "2026-10-01T10:00:00Z",
                        "request_id": "req-1",
                        "team": "search",
                        "model": "llama-3.1-70b-instruct",
                        "endpoint": "/search/chat",
                        "input_tokens": 900,
                        "output_tokens": 120,
                    }
                ]
            },
        )
    ],
)

_BASES = {f"{basis}_cost": MONEY for basis in ("amortized", "billed")}

EXPLAIN_RESPONSES = {
    200: {
        "type": "object",
        "required": ["team", "hour", "currency", "currencies", "allocations", "totals"],
        "properties": {
            "team": {"type": "string"},
            "hour": {"type": "string", "format": "date-time"},
            "currency": {"type": "string"},
            "currencies": {"type": "array", "items": {"type": "string"}},
            "allocations": {
                "type": "array",
                "description": (
                    "One per allocation line (usage, shared, idle share) with its cost lines, "
                    "utilization, split rule and share; money as exact decimal strings, and null "
                    "where a figure would reveal one other team's."
                ),
                "items": {"type": "object", "additionalProperties": True},
            },
            "totals": {
                "type": "object",
                "properties": {k: {**v, "nullable": True} for k, v in _BASES.items()},
            },
            "idle_shared_withheld": {
                "type": "string",
                "nullable": True,
                "description": "why the shared idle figures are withheld, if they are",
            },
        },
    },
    400: ERROR,
    401: ERROR,
    404: ERROR,
}
