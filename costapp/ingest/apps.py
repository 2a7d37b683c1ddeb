from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "costapp.ingest"
    label = "ingest"
    verbose_name = "Ingested data"
