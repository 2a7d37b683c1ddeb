from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "costapp.sources"
    label = "sources"
    verbose_name = "Data sources"
