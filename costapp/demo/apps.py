from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo dataset as a Django app, so that its commands (`demo`, `demo_data`) live with it."""

    name = "costapp.demo"
    label = "demo"
    verbose_name = "Demo"
