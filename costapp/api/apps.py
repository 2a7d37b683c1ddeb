from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "costapp.api"
    label = "api"

    def ready(self) -> None:
        # Registers the bearer scheme with drf-spectacular before any schema is generated.
        from . import auth  # noqa: F401
