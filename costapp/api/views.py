"""JSON API views: parse the request, call a service, answer JSON. No logic of their own."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from costapp.ingest.errors import TransientError
from costapp.ingest.models import RunStatus
from costapp.sources import push


def _bearer(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


@csrf_exempt  # token-authenticated machine clients, no cookies: CSRF does not apply
@require_POST
def usage(request) -> JsonResponse:
    """POST /api/v1/usage: a batch of request records, stored all or nothing."""
    source = push.source_for_token(_bearer(request))
    if source is None:
        response = _error(401, "missing or invalid API token")
        response["WWW-Authenticate"] = 'Bearer realm="inference-ledger"'
        return response
    try:
        payload = json.loads(request.body)
    except RequestDataTooBig:
        return _error(413, "batch too large; send fewer records per request")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not JSON ({exc})", index=None, field=None)
    try:
        records = push.records_of(payload)
        run = push.ingest_batch(source, records)
    except push.BatchError as exc:
        return _error(400, exc.message, index=exc.index, field=exc.field)
    except (TransientError, OperationalError, InterfaceError):
        response = _error(503, "temporarily unavailable; retry the same batch")
        response["Retry-After"] = "30"
        return response
    return JsonResponse(
        {
            "run_id": run.pk,
            "status": run.status,
            "received": len(records),
            "stored": run.rows_stored,
            "duplicate_batch": run.status == RunStatus.SKIPPED,
        }
    )
