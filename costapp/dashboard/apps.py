from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "costapp.dashboard"
    label = "dashboard"
