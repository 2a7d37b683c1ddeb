"""Settings for the test suite: the production settings, in development mode."""

import os

os.environ.setdefault("INFERENCE_LEDGER_DEV", "1")

from costapp.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
