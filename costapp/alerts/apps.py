from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "costapp.alerts"
    label = "alerts"
    verbose_name = "Budgets and alerts"

    def ready(self) -> None:
        from . import hooks

        hooks.connect()
