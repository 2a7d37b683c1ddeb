"""Liveness/readiness: 200 with JSON when the database answers, 503 when it does not."""

from __future__ import annotations

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import JsonResponse


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
