from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "costapp.core"
    label = "core"
    verbose_name = "Teams and access"
