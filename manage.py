#!/usr/bin/env python
"""Django's command-line entry point for Inference Ledger.

In a checkout that `make` set up (it writes var/dev-mode), manage.py runs in development mode
by itself, so the README's hand commands work in a plain shell: the development SECRET_KEY is
allowed, and settings find the project-local cluster through var/database_url. A deployment
has no var/dev-mode and sets SECRET_KEY and DATABASE_URL; a SECRET_KEY in the environment
always wins over the marker.
"""

import os
import sys
from pathlib import Path

DEV_MODE_MARKER = Path(__file__).resolve().parent / "var" / "dev-mode"

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "costapp.settings")
    if not os.environ.get("SECRET_KEY") and DEV_MODE_MARKER.exists():
        os.environ.setdefault("INFERENCE_LEDGER_DEV", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
