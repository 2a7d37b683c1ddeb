from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "costapp.api"
    label = "api"
