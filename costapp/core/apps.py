from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "costapp.core"
    label = "core"
    verbose_name = "Teams and access"

    def ready(self) -> None:
        from .roles import sync_after_migrate

        # Every `manage.py migrate` (a deployment's upgrade step) keeps the Finance group whole.
        post_migrate.connect(sync_after_migrate, dispatch_uid="core.sync_finance_group")
