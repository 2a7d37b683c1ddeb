from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "costapp.attribution"
    label = "attribution"
    verbose_name = "Attribution"
