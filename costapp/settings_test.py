"""Settings for the test suite: the production settings, in development mode."""

import os

os.environ.setdefault("INFERENCE_LEDGER_DEV", "1")

from costapp.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# A second connection to the test database, as the read replica (tests/test_replica_router.py
# turns replica reads on with READ_REPLICA_ALIAS = "replica"; off elsewhere, so tests that
# only allow default never reach it). A TEST mirror: Django gives it default's test database.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
READ_REPLICA_ALIAS = None
