"""Liveness/readiness for load balancers: 200 {"status": "ok"} when the database answers, else
503 {"status": "unavailable"}.

Anyone may call it, so it says nothing else: the database's host, port, role and error text go
to the server's log, never into the response.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        log.exception("healthz: the database did not answer")
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
