"""DATABASE_URL from Django's connection settings, for subprocesses that must reach the same DB.

The host may be a Unix socket folder (the project-local cluster), so every part is
percent-encoded; dj-database-url reads it back as the same host.
"""

from __future__ import annotations

from urllib.parse import quote


def url_from_settings(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
