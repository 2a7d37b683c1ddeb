"""Every API error in one shape: {"error": "<message>"} plus "field" for bad input, as the
first endpoints answered, whatever raised it (a serializer, authentication, a 404)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as ServiceError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """A refusal a view raises with its status and, for bad input, the field at fault."""

    def __init__(self, status_code: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.field = status_code, message, field


def bad_request(message: str, field: str) -> ApiError:
    return ApiError(status.HTTP_400_BAD_REQUEST, f"{field}: {message}", field)


def not_found(message: str = "no such object among those you may see") -> ApiError:
    # The same answer for another team's object as for one that does not exist.
    return ApiError(status.HTTP_404_NOT_FOUND, message)


def _first_error(detail, path: str = "") -> tuple[str, str]:
    """The first (field path, message) of a serializer's nested error detail."""
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        name = "" if key == "non_field_errors" else str(key)
        return _first_error(value, f"{path}.{name}" if path and name else path or name)
    if isinstance(detail, list) and detail:
        nested = [item for item in detail if item]
        index = detail.index(nested[0]) if nested else 0
        first = detail[index]
        if isinstance(first, dict | list):
            return _first_error(first, f"{path}[{index}]")
        return path, str(first)
    return path, str(detail)


def handle(exc, context):
    if isinstance(exc, ApiError):
        body = {"error": exc.message}
        if exc.field is not None:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        body = {"error": f"{field}: {message}" if field else message, "field": field or None}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceError) and hasattr(exc, "error_dict"):
        # A service's refusal names every bad field; the answer leads with the first.
        errors = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        field, message = next(iter(errors.items()))
        body = {"error": f"{field}: {message}", "field": field, "errors": errors}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response
