"""Secrets by reference: a source names environment variables; values are read at use, never
stored in the database nor shown back."""

from __future__ import annotations

import os
import re

from costapp.ingest.errors import IngestError

# An environment variable name; a pasted secret (lowercase, '/', '+', '=') does not match.
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def resolve(refs: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    """{key: value} for each of `keys` the source references; a named but unset variable fails."""
    values = {}
    for key in keys:
        name = refs.get(key)
        if not name:
            continue
        if name not in os.environ:
            raise IngestError(f"environment variable {name} (credentials_ref.{key}) is not set")
        values[key] = os.environ[name]
    return values


def invalid_names(refs: object) -> list[str]:
    """Entries of a credentials_ref that are not {key: ENV_VAR_NAME}, for form validation."""
    if not isinstance(refs, dict):
        return ["credentials_ref must be an object of {key: ENVIRONMENT_VARIABLE_NAME}"]
    return [
        f"credentials_ref.{key} must name an environment variable (A-Z, 0-9, _), not hold a value"
        for key, name in refs.items()
        if not isinstance(name, str) or not ENV_NAME.match(name)
    ]
